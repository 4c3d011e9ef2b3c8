from dataclasses import asdict

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from servicekit.openapi import error_schema
from sticker_service.core.api import UNAVAILABLE, ScopedThrottle
from sticker_service.core.clients import client_identity, client_key
from sticker_service.feedback.limits import VoteBudgetExceeded, spend_votes
from sticker_service.feedback.serializers import FeedbackRequestSerializer, FeedbackResponseSerializer
from sticker_service.feedback.services import FeedbackEntry, record_feedback


class FeedbackView(APIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "feedback"

    @extend_schema(
        operation_id="post_feedback",
        summary="Record thumbs up/down on search results",
        description="The whole body is validated first: a malformed body is a 400 that records nothing. Votes for "
        "queries never searched or stickers not in the catalogue are listed in `failed`; the rest are "
        "recorded in one transaction (counters, one event per vote, and the client's latest vote per query and "
        "sticker: for the ranking each client counts once, its latest vote wins). `client_id` names the client; "
        "without it the client's address does. Queries are matched in their normal form (NFKC, case-folded, "
        "whitespace collapsed, trimmed). Each client address may send at "
        "most FEEDBACK_MAX_VOTES_PER_MINUTE votes per minute, whatever `client_id` it names: past that a 429 with "
        "Retry-After records nothing; a request carrying more votes than that alone is a 400.",
        request=FeedbackRequestSerializer,
        responses={
            200: FeedbackResponseSerializer,
            400: error_schema(
                "invalid_request: the body is invalid (details.fields says which), e.g. a filename listed as both "
                "positive and negative in one entry (a rule JSON Schema cannot state), or more votes than "
                "FEEDBACK_MAX_VOTES_PER_MINUTE in one request."
            ),
            413: error_schema("payload_too_large: the body is over the size limit."),
            429: error_schema(
                "throttled: too many requests, or too many votes this minute, from this client; see Retry-After."
            ),
            503: UNAVAILABLE,
        },
        examples=[
            OpenApiExample(
                "votes",
                request_only=True,
                value={
                    "client_id": "3f6c2a9e-install-42",
                    "feedback": [{"query": "cat in a park", "positive": ["cat.png"], "negative": ["dog.png"]}],
                },
            )
        ],
        tags=["feedback"],
    )
    def post(self, request: Request) -> Response:
        body = FeedbackRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entries = [
            FeedbackEntry(query=item["query"], positive=item["positive"], negative=item["negative"])
            for item in body.validated_data["feedback"]
        ]
        identity = client_identity(request, body.validated_data.get("client_id"))
        votes = sum(len(entry.positive) + len(entry.negative) for entry in entries)
        try:  # per address: a client naming a new client_id for every request does not get a new budget
            spend_votes(client_identity(request), votes)
        except VoteBudgetExceeded as exc:
            raise Throttled(wait=exc.retry_after, detail=exc.message) from exc
        result = record_feedback(entries, client=client_key(identity))
        return Response(asdict(result))
