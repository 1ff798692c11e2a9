from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.session_view import SessionView
from ...types import Response


def _get_kwargs(
    vendor: str,
    session_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/vendors/{vendor}/sessions/{session_id}".format(
            vendor=quote(str(vendor), safe=""),
            session_id=quote(str(session_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | SessionView | None:
    if response.status_code == 200:
        response_200 = SessionView.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ProblemDetails.from_dict(response.json())

        return response_404

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
) -> Response[ProblemDetails | SessionView]:
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
) -> Response[ProblemDetails | SessionView]:
    """Get Session

     One session the caller takes part in, or administers.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | SessionView]
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
) -> ProblemDetails | SessionView | None:
    """Get Session

     One session the caller takes part in, or administers.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | SessionView
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
) -> Response[ProblemDetails | SessionView]:
    """Get Session

     One session the caller takes part in, or administers.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | SessionView]
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
) -> ProblemDetails | SessionView | None:
    """Get Session

     One session the caller takes part in, or administers.

    Args:
        vendor (str):
        session_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | SessionView
    """

    return (
        await asyncio_detailed(
            vendor=vendor,
            session_id=session_id,
            client=client,
        )
    ).parsed
