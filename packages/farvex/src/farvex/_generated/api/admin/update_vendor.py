from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.vendor_update import VendorUpdate
from ...models.vendor_view import VendorView
from ...types import Response


def _get_kwargs(
    vendor: str,
    *,
    body: VendorUpdate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/admin/vendors/{vendor}".format(
            vendor=quote(str(vendor), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | VendorView | None:
    if response.status_code == 200:
        response_200 = VendorView.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ProblemDetails.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ProblemDetails.from_dict(response.json())

        return response_404

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
) -> Response[ProblemDetails | VendorView]:
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
    body: VendorUpdate,
) -> Response[ProblemDetails | VendorView]:
    """Update Vendor

     Change a vendor's settings (operator admin key): the fields sent, nothing else.

    Args:
        vendor (str):
        body (VendorUpdate): The settings to change; a field left out stays as it is, and
            `end_sessions_with_room: null` goes back to the deployment's default.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | VendorView]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: VendorUpdate,
) -> ProblemDetails | VendorView | None:
    """Update Vendor

     Change a vendor's settings (operator admin key): the fields sent, nothing else.

    Args:
        vendor (str):
        body (VendorUpdate): The settings to change; a field left out stays as it is, and
            `end_sessions_with_room: null` goes back to the deployment's default.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | VendorView
    """

    return sync_detailed(
        vendor=vendor,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: VendorUpdate,
) -> Response[ProblemDetails | VendorView]:
    """Update Vendor

     Change a vendor's settings (operator admin key): the fields sent, nothing else.

    Args:
        vendor (str):
        body (VendorUpdate): The settings to change; a field left out stays as it is, and
            `end_sessions_with_room: null` goes back to the deployment's default.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | VendorView]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    body: VendorUpdate,
) -> ProblemDetails | VendorView | None:
    """Update Vendor

     Change a vendor's settings (operator admin key): the fields sent, nothing else.

    Args:
        vendor (str):
        body (VendorUpdate): The settings to change; a field left out stays as it is, and
            `end_sessions_with_room: null` goes back to the deployment's default.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | VendorView
    """

    return (
        await asyncio_detailed(
            vendor=vendor,
            client=client,
            body=body,
        )
    ).parsed
