from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem_details import ProblemDetails
from ...models.receive_livekit_webhook_body import ReceiveLivekitWebhookBody
from ...models.webhook_receipt import WebhookReceipt
from ...types import Response


def _get_kwargs(
    *,
    body: ReceiveLivekitWebhookBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/webhooks/livekit",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/webhook+json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ProblemDetails | WebhookReceipt | None:
    if response.status_code == 200:
        response_200 = WebhookReceipt.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ProblemDetails.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ProblemDetails.from_dict(response.json())

        return response_401

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
) -> Response[ProblemDetails | WebhookReceipt]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveLivekitWebhookBody,
) -> Response[ProblemDetails | WebhookReceipt]:
    """Receive Livekit Webhook

     A webhook from LiveKit, signed with the API secret (401 `webhook_rejected` when it
    is unsigned, forged or expired). Each event is applied once; redeliveries answer
    `applied: false`.

    Args:
        body (ReceiveLivekitWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | WebhookReceipt]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveLivekitWebhookBody,
) -> ProblemDetails | WebhookReceipt | None:
    """Receive Livekit Webhook

     A webhook from LiveKit, signed with the API secret (401 `webhook_rejected` when it
    is unsigned, forged or expired). Each event is applied once; redeliveries answer
    `applied: false`.

    Args:
        body (ReceiveLivekitWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | WebhookReceipt
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveLivekitWebhookBody,
) -> Response[ProblemDetails | WebhookReceipt]:
    """Receive Livekit Webhook

     A webhook from LiveKit, signed with the API secret (401 `webhook_rejected` when it
    is unsigned, forged or expired). Each event is applied once; redeliveries answer
    `applied: false`.

    Args:
        body (ReceiveLivekitWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProblemDetails | WebhookReceipt]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveLivekitWebhookBody,
) -> ProblemDetails | WebhookReceipt | None:
    """Receive Livekit Webhook

     A webhook from LiveKit, signed with the API secret (401 `webhook_rejected` when it
    is unsigned, forged or expired). Each event is applied once; redeliveries answer
    `applied: false`.

    Args:
        body (ReceiveLivekitWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProblemDetails | WebhookReceipt
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
