from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.vendor_view import VendorView
from ...types import Response


def _get_kwargs(
    vendor: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/admin/vendors/{vendor}".format(
            vendor=quote(str(vendor), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | VendorView | None:
    if response.status_code == 200:
        response_200 = VendorView.from_dict(response.json())

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
) -> Response[ProblemDetails | VendorView]:
    """Get Vendor

     A vendor and its settings (operator admin key).

    Args:
        vendor (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | VendorView]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
) -> ProblemDetails | VendorView | None:
    """Get Vendor

     A vendor and its settings (operator admin key).

    Args:
        vendor (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | VendorView
    """

    return sync_detailed(
        vendor=vendor,
        client=client,
    ).parsed


async def asyncio_detailed(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ProblemDetails | VendorView]:
    """Get Vendor

     A vendor and its settings (operator admin key).

    Args:
        vendor (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | VendorView]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
) -> ProblemDetails | VendorView | None:
    """Get Vendor

     A vendor and its settings (operator admin key).

    Args:
        vendor (str):

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
        )
    ).parsed
