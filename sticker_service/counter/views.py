from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sticker_service.core.api import INVALID, THROTTLED, ScopedThrottle
from sticker_service.counter.serializers import CounterParamsSerializer, CounterResponseSerializer
from sticker_service.counter.services import count_digit_occurrences, count_numbers_with_digit


class CounterView(APIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "counter"

    @extend_schema(
        operation_id="count_digit",
        summary="Count a digit in 1..n",
        description="`answer`: how many times `digit` is written in 1, 2, ..., n; `numbers_with_digit`: how many "
        "of those numbers contain it. Exact for n up to 1000 digits. n, answer and numbers_with_digit "
        "are decimal strings (JSON numbers lose precision past 2**53 in most clients).",
        parameters=[CounterParamsSerializer],
        responses={200: CounterResponseSerializer, 400: INVALID, 429: THROTTLED},
        examples=[
            OpenApiExample(
                "digit 7 up to 100",
                response_only=True,
                value={"digit": 7, "n": "100", "answer": "20", "numbers_with_digit": "19"},
            )
        ],
        tags=["counter"],
    )
    def get(self, request: Request) -> Response:
        params = CounterParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        digit, n = params.validated_data["digit"], params.validated_data["n"]
        return Response(
            {
                "digit": digit,
                "n": str(n),
                "answer": str(count_digit_occurrences(digit, n)),
                "numbers_with_digit": str(count_numbers_with_digit(digit, n)),
            }
        )
