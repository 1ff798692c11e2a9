from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.voice_join_grant import VoiceJoinGrant
from ...types import Response


def _get_kwargs(
    vendor: str,
    session_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/vendors/{vendor}/sessions/{session_id}/join".format(
            vendor=quote(str(vendor), safe=""),
            session_id=quote(str(session_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | VoiceJoinGrant | None:
    if response.status_code == 200:
        response_200 = VoiceJoinGrant.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ProblemDetails.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ProblemDetails.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = ProblemDetails.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ProblemDetails.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ProblemDetails | VoiceJoinGrant]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    vendor: str,
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ProblemDetails | VoiceJoinGrant]:
    """Join Session

     A fresh media grant for the caller's accepted participant.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | VoiceJoinGrant]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        session_id=session_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    vendor: str,
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ProblemDetails | VoiceJoinGrant | None:
    """Join Session

     A fresh media grant for the caller's accepted participant.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | VoiceJoinGrant
    """

    return sync_detailed(
        vendor=vendor,
        session_id=session_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    vendor: str,
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ProblemDetails | VoiceJoinGrant]:
    """Join Session

     A fresh media grant for the caller's accepted participant.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | VoiceJoinGrant]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        session_id=session_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    vendor: str,
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ProblemDetails | VoiceJoinGrant | None:
    """Join Session

     A fresh media grant for the caller's accepted participant.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | VoiceJoinGrant
    """

    return (
        await asyncio_detailed(
            vendor=vendor,
            session_id=session_id,
            client=client,
        )
    ).parsed
