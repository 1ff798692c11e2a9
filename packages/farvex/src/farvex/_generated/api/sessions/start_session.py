from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.session_with_join import SessionWithJoin
from ...models.start_session_request import StartSessionRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    vendor: str,
    *,
    body: StartSessionRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["idempotency-key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/vendors/{vendor}/sessions".format(
            vendor=quote(str(vendor), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | SessionWithJoin | None:
    if response.status_code == 201:
        response_201 = SessionWithJoin.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ProblemDetails.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ProblemDetails.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ProblemDetails.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ProblemDetails.from_dict(response.json())

        return response_409

    if response.status_code == 412:
        response_412 = ProblemDetails.from_dict(response.json())

        return response_412

    if response.status_code == 413:
        response_413 = ProblemDetails.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ProblemDetails.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ProblemDetails.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ProblemDetails.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ProblemDetails | SessionWithJoin]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: StartSessionRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[ProblemDetails | SessionWithJoin]:
    """Start Session

     Start a session: ring the target; the caller joins at once and gets a join grant.
    A team target rings the team's available agents as its dispatch settings say.

    Args:
        vendor (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (StartSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | SessionWithJoin]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: StartSessionRequest,
    idempotency_key: str | Unset = UNSET,
) -> ProblemDetails | SessionWithJoin | None:
    """Start Session

     Start a session: ring the target; the caller joins at once and gets a join grant.
    A team target rings the team's available agents as its dispatch settings say.

    Args:
        vendor (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (StartSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | SessionWithJoin
    """

    return sync_detailed(
        vendor=vendor,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: StartSessionRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[ProblemDetails | SessionWithJoin]:
    """Start Session

     Start a session: ring the target; the caller joins at once and gets a join grant.
    A team target rings the team's available agents as its dispatch settings say.

    Args:
        vendor (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (StartSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | SessionWithJoin]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: StartSessionRequest,
    idempotency_key: str | Unset = UNSET,
) -> ProblemDetails | SessionWithJoin | None:
    """Start Session

     Start a session: ring the target; the caller joins at once and gets a join grant.
    A team target rings the team's available agents as its dispatch settings say.

    Args:
        vendor (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (StartSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | SessionWithJoin
    """

    return (
        await asyncio_detailed(
            vendor=vendor,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
