from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.team_list import TeamList
from ...types import UNSET, Response, Unset


def _get_kwargs(
    vendor: str,
    *,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/vendors/{vendor}/teams".format(
            vendor=quote(str(vendor), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | TeamList | None:
    if response.status_code == 200:
        response_200 = TeamList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ProblemDetails.from_dict(response.json())

        return response_403

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
) -> Response[ProblemDetails | TeamList]:
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
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
) -> Response[ProblemDetails | TeamList]:
    """List Teams

     The vendor's teams (members), by name, a page at a time: page on with
    `cursor=next_cursor`.

    Args:
        vendor (str):
        limit (int | Unset): At most this many items (1 to 200). Default: 50.
        cursor (None | str | Unset): The `next_cursor` of the previous page; omit it for the first
            page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | TeamList]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
) -> ProblemDetails | TeamList | None:
    """List Teams

     The vendor's teams (members), by name, a page at a time: page on with
    `cursor=next_cursor`.

    Args:
        vendor (str):
        limit (int | Unset): At most this many items (1 to 200). Default: 50.
        cursor (None | str | Unset): The `next_cursor` of the previous page; omit it for the first
            page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | TeamList
    """

    return sync_detailed(
        vendor=vendor,
        client=client,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
) -> Response[ProblemDetails | TeamList]:
    """List Teams

     The vendor's teams (members), by name, a page at a time: page on with
    `cursor=next_cursor`.

    Args:
        vendor (str):
        limit (int | Unset): At most this many items (1 to 200). Default: 50.
        cursor (None | str | Unset): The `next_cursor` of the previous page; omit it for the first
            page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | TeamList]
    """

    kwargs = _get_kwargs(
        vendor=vendor,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    vendor: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
) -> ProblemDetails | TeamList | None:
    """List Teams

     The vendor's teams (members), by name, a page at a time: page on with
    `cursor=next_cursor`.

    Args:
        vendor (str):
        limit (int | Unset): At most this many items (1 to 200). Default: 50.
        cursor (None | str | Unset): The `next_cursor` of the previous page; omit it for the first
            page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | TeamList
    """

    return (
        await asyncio_detailed(
            vendor=vendor,
            client=client,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
