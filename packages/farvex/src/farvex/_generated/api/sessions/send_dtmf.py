from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.dtmf_request import DtmfRequest
from ...models.dtmf_sent import DtmfSent
from ...models.problem_details import ProblemDetails
from ...types import UNSET, Response, Unset


def _get_kwargs(
    vendor: str,
    session_id: str,
    participant_id: str,
    *,
    body: DtmfRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["idempotency-key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/vendors/{vendor}/sessions/{session_id}/participants/{participant_id}/dtmf".format(
            vendor=quote(str(vendor), safe=""),
            session_id=quote(str(session_id), safe=""),
            participant_id=quote(str(participant_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DtmfSent | ProblemDetails | None:
    if response.status_code == 202:
        response_202 = DtmfSent.from_dict(response.json())

        return response_202

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DtmfSent | ProblemDetails]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    vendor: str,
    session_id: str,
    participant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DtmfRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[DtmfSent | ProblemDetails]:
    """Send Dtmf

     Press keys on an answered phone leg (DTMF: `0-9*#A-D`), for phone menus, extensions
    and PINs (hosts and agents, while the call is active). 202: they are sent in order
    through the media server; nothing in the session changes.

    Args:
        vendor (str):
        session_id (str):
        participant_id (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (DtmfRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DtmfSent | ProblemDetails]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        session_id=session_id,
        participant_id=participant_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    vendor: str,
    session_id: str,
    participant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DtmfRequest,
    idempotency_key: str | Unset = UNSET,
) -> DtmfSent | ProblemDetails | None:
    """Send Dtmf

     Press keys on an answered phone leg (DTMF: `0-9*#A-D`), for phone menus, extensions
    and PINs (hosts and agents, while the call is active). 202: they are sent in order
    through the media server; nothing in the session changes.

    Args:
        vendor (str):
        session_id (str):
        participant_id (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (DtmfRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DtmfSent | ProblemDetails
    """

    return sync_detailed(
        vendor=vendor,
        session_id=session_id,
        participant_id=participant_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    vendor: str,
    session_id: str,
    participant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DtmfRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[DtmfSent | ProblemDetails]:
    """Send Dtmf

     Press keys on an answered phone leg (DTMF: `0-9*#A-D`), for phone menus, extensions
    and PINs (hosts and agents, while the call is active). 202: they are sent in order
    through the media server; nothing in the session changes.

    Args:
        vendor (str):
        session_id (str):
        participant_id (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (DtmfRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DtmfSent | ProblemDetails]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        session_id=session_id,
        participant_id=participant_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    vendor: str,
    session_id: str,
    participant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DtmfRequest,
    idempotency_key: str | Unset = UNSET,
) -> DtmfSent | ProblemDetails | None:
    """Send Dtmf

     Press keys on an answered phone leg (DTMF: `0-9*#A-D`), for phone menus, extensions
    and PINs (hosts and agents, while the call is active). 202: they are sent in order
    through the media server; nothing in the session changes.

    Args:
        vendor (str):
        session_id (str):
        participant_id (str):
        idempotency_key (str | Unset): Retries with the same key return the first response, once
            applied. 1 to 200 visible ASCII characters (! to ~, no spaces), a UUID for instance;
            anything else is 422 validation_failed.
        body (DtmfRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DtmfSent | ProblemDetails
    """

    return (
        await asyncio_detailed(
            vendor=vendor,
            session_id=session_id,
            participant_id=participant_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
