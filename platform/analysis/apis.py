"""REST API of analysis: datasets (freeze, import), score runs, fit runs, uploaded metrics."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import ApplicationError
from studies import selectors as study_selectors

from . import datasets, selectors, services
from .models import Dataset, FitRun, ScoreRun, UploadedMetric


class DatasetOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "source",
            "study",
            "version",
            "status",
            "counts",
            "progress",
            "error",
            "is_public",
            "public_slug",
            "owner",
            "created_at",
        ]


class DatasetListApi(APIView):
    @extend_schema(responses=DatasetOutput(many=True), operation_id="datasets_list")
    def get(self, request):
        return Response(DatasetOutput(selectors.dataset_list(user=request.user), many=True).data)


class DatasetDetailApi(APIView):
    @extend_schema(responses=DatasetOutput, operation_id="datasets_retrieve")
    def get(self, request, pk: int):
        return Response(DatasetOutput(selectors.dataset_get(user=request.user, pk=pk)).data)


class DatasetFreezeApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DatasetFreezeInput"

        study = serializers.IntegerField()
        name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    @extend_schema(
        request=InputSerializer, responses={201: DatasetOutput}, operation_id="datasets_freeze"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        study = study_selectors.study_get(user=request.user, pk=data.validated_data["study"])
        dataset = datasets.dataset_freeze(
            study=study, by=request.user, name=data.validated_data["name"]
        )
        return Response(DatasetOutput(dataset).data, status=status.HTTP_201_CREATED)


class DatasetImportApi(APIView):
    """Import a BAPPS-layout folder that is on the server (e.g. the extracted BAPPS download)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DatasetImportInput"

        name = serializers.CharField(max_length=200)
        path = serializers.CharField(max_length=500)

    @extend_schema(
        request=InputSerializer, responses={202: DatasetOutput}, operation_id="datasets_import"
    )
    def post(self, request):
        from django.db import transaction

        from .tasks import import_dataset

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            dataset = datasets.dataset_import_create(owner=request.user, **data.validated_data)
            transaction.on_commit(lambda: import_dataset.delay(dataset.pk))
        return Response(DatasetOutput(dataset).data, status=status.HTTP_202_ACCEPTED)


class DatasetPublishApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DatasetPublishInput"

        is_public = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer, responses=DatasetOutput, operation_id="datasets_publish"
    )
    def post(self, request, pk: int):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        if dataset.owner_id != request.user.pk and not request.user.is_superuser:
            raise ApplicationError(
                "Only the owner can publish or unpublish a dataset.",
                code="owner_only",
                status_code=403,
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        Dataset.objects.filter(pk=dataset.pk).update(is_public=data.validated_data["is_public"])
        dataset.refresh_from_db()
        return Response(DatasetOutput(dataset).data)


class ScoreRunOutput(serializers.ModelSerializer):
    class Meta:
        model = ScoreRun
        fields = [
            "id",
            "dataset",
            "metric",
            "options",
            "split",
            "status",
            "progress",
            "result",
            "error",
            "created_at",
        ]


class ScoreRunCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ScoreRunInput"

        metric = serializers.CharField(max_length=120)
        split = serializers.CharField(max_length=16, default="val")
        options = serializers.DictField(required=False, default=dict)

    @extend_schema(
        request=InputSerializer, responses={201: ScoreRunOutput}, operation_id="datasets_score"
    )
    def post(self, request, pk: int):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.score_run_create(dataset=dataset, by=request.user, **data.validated_data)
        return Response(ScoreRunOutput(run).data, status=status.HTTP_201_CREATED)


class ScoreRunDetailApi(APIView):
    @extend_schema(responses=ScoreRunOutput, operation_id="score_runs_retrieve")
    def get(self, request, pk: int):
        return Response(ScoreRunOutput(selectors.score_run_get(user=request.user, pk=pk)).data)


class FitRunOutput(serializers.ModelSerializer):
    metric = serializers.CharField(source="metric_name", read_only=True)

    class Meta:
        model = FitRun
        fields = [
            "id",
            "dataset",
            "net",
            "variant",
            "version",
            "epochs",
            "epochs_decay",
            "seed",
            "trunk_weights",
            "status",
            "cancel_requested",
            "progress",
            "history",
            "attempts",
            "worker",
            "result",
            "error",
            "metric",
            "created_at",
        ]


class FitRunCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FitRunInput"

        net = serializers.ChoiceField(choices=services.FIT_NETS, default="alex")
        variant = serializers.ChoiceField(choices=services.FIT_VARIANTS, default="lin")
        version = serializers.ChoiceField(choices=["0.1", "0.0"], default="0.1")
        epochs = serializers.IntegerField(min_value=0, max_value=100, default=5)
        epochs_decay = serializers.IntegerField(min_value=0, max_value=100, default=5)
        seed = serializers.IntegerField(min_value=0, default=0)
        trunk_weights = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=500
        )

    @extend_schema(
        request=InputSerializer, responses={201: FitRunOutput}, operation_id="datasets_fit"
    )
    def post(self, request, pk: int):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.fit_run_create(dataset=dataset, by=request.user, **data.validated_data)
        return Response(FitRunOutput(run).data, status=status.HTTP_201_CREATED)


class FitRunDetailApi(APIView):
    @extend_schema(responses=FitRunOutput, operation_id="fit_runs_retrieve")
    def get(self, request, pk: int):
        return Response(FitRunOutput(selectors.fit_run_get(user=request.user, pk=pk)).data)


class FitRunCancelApi(APIView):
    @extend_schema(request=None, responses=FitRunOutput, operation_id="fit_runs_cancel")
    def post(self, request, pk: int):
        run = services.fit_run_cancel(run=selectors.fit_run_get(user=request.user, pk=pk))
        return Response(FitRunOutput(run).data)


class FitRunWeightsApi(APIView):
    """The fitted lin weights as a .pth (official key format: loads with lpips' model_path)."""

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        operation_id="fit_runs_weights",
    )
    def get(self, request, pk: int):
        run = selectors.fit_run_get(user=request.user, pk=pk)
        if not run.weights:
            raise ApplicationError(
                f"Fit {run.pk} has no weights yet (it is {run.status}).",
                code="not_ready",
                status_code=409,
            )
        return FileResponse(
            run.weights.open("rb"),
            as_attachment=True,
            filename=f"perceptlab-fit-{run.pk}-{run.net}-{run.variant}-v{run.version}.pth",
        )


class UploadedMetricOutput(serializers.ModelSerializer):
    metric = serializers.CharField(source="metric_name", read_only=True)

    class Meta:
        model = UploadedMetric
        fields = ["id", "name", "net", "version", "sha256", "metric", "created_at"]


class UploadedMetricCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "UploadedMetricInput"

        name = serializers.CharField(max_length=200)
        net = serializers.ChoiceField(choices=services.FIT_NETS, default="alex")
        version = serializers.ChoiceField(choices=["0.1", "0.0"], default="0.1")
        file = serializers.FileField()

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: UploadedMetricOutput},
        operation_id="metrics_upload",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data.pop("file")
        if upload.size > 5 * 1024 * 1024:
            raise ApplicationError(
                "A lin-weights file is a few KB; this one is over 5 MB.",
                fields={"file": ["too large"]},
            )
        metric = services.uploaded_metric_create(
            owner=request.user, data=upload.read(), **data.validated_data
        )
        return Response(UploadedMetricOutput(metric).data, status=status.HTTP_201_CREATED)


class MetricListApi(APIView):
    """Metrics that can be scored: the registry, finished fits and uploads the user can see."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="metrics_list")
    def get(self, request):
        import metrics

        registry = [
            {"name": m.name, "input_range": list(m.input_range), "summary": m.summary}
            for m in metrics.list_metrics()
        ]
        fitted = [
            {
                "name": run.metric_name,
                "summary": f"LPIPS {run.net}-{run.variant} fitted on dataset {run.dataset_id}",
            }
            for run in FitRun.objects.filter(
                dataset__in=selectors.dataset_list(user=request.user).values("pk"), status="done"
            )
        ]
        uploaded = [
            {"name": m.metric_name, "summary": m.name}
            for m in selectors.uploaded_metric_list(user=request.user)
        ]
        return Response({"registry": registry, "fitted": fitted, "uploaded": uploaded})


class LeaderboardApi(APIView):
    """The dataset's leaderboard (rows × categories with CIs, human row, significance)."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="datasets_leaderboard")
    def get(self, request, pk: int):
        from . import leaderboard

        dataset = selectors.dataset_get(user=request.user, pk=pk)
        return Response(
            leaderboard.board_for(dataset=dataset, split=request.query_params.get("split") or None)
        )


class PublicLeaderboardApi(APIView):
    """A published leaderboard, for anyone with its URL (404 while private)."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="leaderboards_public")
    def get(self, request, slug: str):
        from . import leaderboard

        dataset = leaderboard.dataset_for_public_board(slug=slug)
        return Response(
            leaderboard.board_for(dataset=dataset, split=request.query_params.get("split") or None)
        )


class JudgmentsCiApi(APIView):
    """How the 2AFC score's CI narrows with judgments per triplet (for sizing the next study)."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="datasets_judgments_ci")
    def get(self, request, pk: int):
        from . import planning

        dataset = selectors.dataset_get(user=request.user, pk=pk)
        return Response(
            planning.judgments_ci(dataset=dataset, split=request.query_params.get("split") or "val")
        )


class ExportOutput(serializers.Serializer):
    class Meta:
        ref_name = "ExportOutput"

    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    kind = serializers.CharField()
    status = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    error = serializers.CharField()
    download = serializers.SerializerMethodField()

    def get_download(self, obj) -> str:
        from django.urls import reverse

        return reverse("analysis-export-download", args=[obj.pk])


class ExportCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ExportInput"

        kind = serializers.CharField(max_length=16)

    @extend_schema(
        request=InputSerializer, responses={202: ExportOutput}, operation_id="datasets_export"
    )
    def post(self, request, pk: int):
        from . import exports

        dataset = selectors.dataset_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = exports.export_create(dataset=dataset, kind=data.validated_data["kind"])
        return Response(ExportOutput(export).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(APIView):
    @extend_schema(responses=ExportOutput, operation_id="exports_retrieve")
    def get(self, request, pk: int):
        from django.shortcuts import get_object_or_404

        from .models import Export

        export = get_object_or_404(
            Export.objects.filter(
                dataset__in=selectors.dataset_list(user=request.user).values("pk")
            ),
            pk=pk,
        )
        return Response(ExportOutput(export).data)
