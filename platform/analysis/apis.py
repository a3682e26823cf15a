"""REST API of analysis: datasets (freeze, import, publish), score runs, fit runs, exports,
uploaded metrics, and retries of failed jobs. Thin: parse input, call one selector or service,
shape the output; access rules and state checks live in `selectors` and the services."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import ConflictError
from common.fields import model_field
from studies import selectors as study_selectors

from . import datasets, exports, selectors, services
from .models import Dataset, Export, FitRun, KMeansTrunk, ScoreRun, UploadedMetric


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
    """Import a BAPPS-layout folder: uploaded as a .zip (multipart field `archive`), or, where
    the operator set PERCEPTLAB_IMPORT_ROOT, a folder under it on the workers (`path`)."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    upload_limit_setting = "PERCEPTLAB_MAX_IMPORT_BYTES"

    @staticmethod
    def upload_max_bytes() -> int:
        return settings.PERCEPTLAB_MAX_IMPORT_BYTES

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DatasetImportInput"

        name = serializers.CharField(max_length=200)
        path = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        archive = serializers.FileField(required=False, allow_null=True, default=None)

    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
        responses={202: DatasetOutput},
        operation_id="datasets_import",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = datasets.dataset_import_create(owner=request.user, **data.validated_data)
        return Response(DatasetOutput(dataset).data, status=status.HTTP_202_ACCEPTED)


class DatasetImportRetryApi(APIView):
    """Queue a failed import again (409 unless the import failed)."""

    @extend_schema(
        request=None, responses={202: DatasetOutput}, operation_id="datasets_import_retry"
    )
    def post(self, request, pk: int):
        dataset = datasets.dataset_import_retry(
            dataset=selectors.dataset_get(user=request.user, pk=pk)
        )
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
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_publish(
            dataset=dataset, by=request.user, is_public=data.validated_data["is_public"]
        )
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
            "computed_with",
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


class ScoreRunRetryApi(APIView):
    """Queue a failed score run again (409 unless it failed)."""

    @extend_schema(request=None, responses={202: ScoreRunOutput}, operation_id="score_runs_retry")
    def post(self, request, pk: int):
        run = services.score_run_retry(
            run=selectors.score_run_get(user=request.user, pk=pk), by=request.user
        )
        return Response(ScoreRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


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
            "computed_with",
            "error",
            "metric",
            "created_at",
        ]


class ZooFitsCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ZooFitsInput"

        nets = serializers.ListField(
            child=serializers.ChoiceField(choices=list(services.zoo_nets())),
            min_length=1,
            max_length=services.ZOO_MAX_NETS,
            help_text="deep-<arch> zoo nets, one lin fit each",
        )
        epochs = serializers.IntegerField(min_value=0, max_value=100, default=5)
        epochs_decay = serializers.IntegerField(min_value=0, max_value=100, default=5)
        seed = model_field(FitRun, "seed", default=0)
        trunk_weights = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=500
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: FitRunOutput(many=True)},
        operation_id="datasets_zoo",
    )
    def post(self, request, pk: int):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        runs = services.zoo_fits_create(dataset=dataset, by=request.user, **data.validated_data)
        return Response(FitRunOutput(runs, many=True).data, status=status.HTTP_201_CREATED)


class FitRunCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FitRunInput"

        net = serializers.ChoiceField(choices=services.FIT_NETS, default="alex")
        variant = serializers.ChoiceField(choices=services.FIT_VARIANTS, default="lin")
        version = serializers.ChoiceField(choices=["0.1", "0.0"], default="0.1")
        epochs = serializers.IntegerField(min_value=0, max_value=100, default=5)
        epochs_decay = serializers.IntegerField(min_value=0, max_value=100, default=5)
        seed = model_field(FitRun, "seed", default=0)
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


class FitRunRetryApi(APIView):
    """Queue a failed fit again; it resumes from its last checkpoint (409 unless it failed)."""

    @extend_schema(request=None, responses={202: FitRunOutput}, operation_id="fit_runs_retry")
    def post(self, request, pk: int):
        run = services.fit_run_retry(run=selectors.fit_run_get(user=request.user, pk=pk))
        return Response(FitRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class FitRunWeightsApi(APIView):
    """The fitted lin weights as a .pth (official key format: loads with lpips' model_path)."""

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        operation_id="fit_runs_weights",
    )
    def get(self, request, pk: int):
        run = selectors.fit_run_weights_get(user=request.user, pk=pk)
        return FileResponse(
            run.weights.open("rb"),
            as_attachment=True,
            filename=f"perceptlab-fit-{run.pk}-{run.net}-{run.variant}-v{run.version}.pth",
        )


class UploadedMetricOutput(serializers.ModelSerializer):
    metric = serializers.CharField(source="metric_name", read_only=True)

    class Meta:
        model = UploadedMetric
        fields = [
            "id",
            "name",
            "net",
            "version",
            "sha256",
            "size",
            "status",
            "error",
            "metric",
            "created_at",
        ]


class UploadedMetricCreateApi(APIView):
    """Store LPIPS lin weights (202: validated by a worker; usable once `status` is ready)."""

    parser_classes = [MultiPartParser, FormParser]
    upload_limit_setting = "PERCEPTLAB_MAX_WEIGHTS_BYTES"

    @staticmethod
    def upload_max_bytes() -> int:
        return settings.PERCEPTLAB_MAX_WEIGHTS_BYTES

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "UploadedMetricInput"

        name = serializers.CharField(max_length=200)
        net = serializers.ChoiceField(choices=services.UPLOAD_NETS, default="alex")
        version = serializers.ChoiceField(choices=services.FIT_VERSIONS, default="0.1")
        file = serializers.FileField()

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: UploadedMetricOutput},
        operation_id="metrics_upload",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        metric = services.uploaded_metric_create(owner=request.user, **data.validated_data)
        return Response(UploadedMetricOutput(metric).data, status=status.HTTP_202_ACCEPTED)


class UploadedMetricListApi(APIView):
    @extend_schema(responses=UploadedMetricOutput(many=True), operation_id="metrics_uploaded_list")
    def get(self, request):
        uploads = selectors.uploaded_metric_list(user=request.user).order_by("-created_at")
        return Response(UploadedMetricOutput(uploads, many=True).data)


class UploadedMetricDetailApi(APIView):
    @extend_schema(responses=UploadedMetricOutput, operation_id="metrics_uploaded_retrieve")
    def get(self, request, pk: int):
        upload = selectors.uploaded_metric_get(user=request.user, pk=pk)
        return Response(UploadedMetricOutput(upload).data)


class UploadedMetricRetryApi(APIView):
    """Validate a failed upload again (409 unless it failed)."""

    @extend_schema(
        request=None, responses={202: UploadedMetricOutput}, operation_id="metrics_uploaded_retry"
    )
    def post(self, request, pk: int):
        upload = services.uploaded_metric_retry(
            upload=selectors.uploaded_metric_get(user=request.user, pk=pk)
        )
        return Response(UploadedMetricOutput(upload).data, status=status.HTTP_202_ACCEPTED)


class KMeansTrunkOutput(serializers.ModelSerializer):
    trunk_weights = serializers.CharField(source="trunk_ref", read_only=True)

    class Meta:
        model = KMeansTrunk
        fields = [
            "id",
            "name",
            "image_set",
            "seed",
            "options",
            "status",
            "progress",
            "error",
            "sha256",
            "report",
            "computed_with",
            "trunk_weights",
            "created_at",
        ]


class KMeansTrunkCreateApi(APIView):
    """Initialise an AlexNet trunk by stacked k-means from this image set (202: a worker runs
    it; once `status` is done, name it as `trunk_weights` = the output's `trunk_weights`)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "KMeansTrunkInput"

        name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        seed = model_field(KMeansTrunk, "seed", default=0)
        options = serializers.DictField(required=False, default=dict)

    @extend_schema(
        request=InputSerializer,
        responses={202: KMeansTrunkOutput},
        operation_id="image_sets_kmeans_trunk",
    )
    def post(self, request, pk: int):
        image_set = study_selectors.image_set_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trunk = services.kmeans_trunk_create(
            owner=request.user, image_set=image_set, **data.validated_data
        )
        return Response(KMeansTrunkOutput(trunk).data, status=status.HTTP_202_ACCEPTED)


class KMeansTrunkListApi(APIView):
    @extend_schema(responses=KMeansTrunkOutput(many=True), operation_id="kmeans_trunks_list")
    def get(self, request):
        trunks = selectors.kmeans_trunk_list(user=request.user).order_by("-created_at")
        return Response(KMeansTrunkOutput(trunks, many=True).data)


class KMeansTrunkDetailApi(APIView):
    @extend_schema(responses=KMeansTrunkOutput, operation_id="kmeans_trunks_retrieve")
    def get(self, request, pk: int):
        return Response(
            KMeansTrunkOutput(selectors.kmeans_trunk_get(user=request.user, pk=pk)).data
        )


class KMeansTrunkRetryApi(APIView):
    """Queue a failed k-means trunk again (409 unless it failed)."""

    @extend_schema(
        request=None, responses={202: KMeansTrunkOutput}, operation_id="kmeans_trunks_retry"
    )
    def post(self, request, pk: int):
        trunk = services.kmeans_trunk_retry(
            trunk=selectors.kmeans_trunk_get(user=request.user, pk=pk)
        )
        return Response(KMeansTrunkOutput(trunk).data, status=status.HTTP_202_ACCEPTED)


class MetricListApi(APIView):
    """Metrics that can be scored: the registry, finished fits and validated uploads the user
    may use."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="metrics_list")
    def get(self, request):
        return Response(selectors.metric_list(user=request.user))


class LeaderboardApi(APIView):
    """The dataset's leaderboard (rows × categories with CIs, human row, significance)."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="datasets_leaderboard")
    def get(self, request, pk: int):
        from .leaderboard.selectors import board_for_user

        split = request.query_params.get("split") or None
        return Response(board_for_user(user=request.user, dataset_id=pk, split=split))


class PublicLeaderboardApi(APIView):
    """A published leaderboard, for anyone with its URL (404 while private)."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="leaderboards_public")
    def get(self, request, slug: str):
        from .leaderboard.selectors import board_for_public

        split = request.query_params.get("split") or None
        return Response(board_for_public(slug=slug, split=split))


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
    kind = serializers.ChoiceField(choices=Export.Kind.choices)
    status = serializers.ChoiceField(choices=Export.Status.choices)
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    error = serializers.CharField()
    download = serializers.SerializerMethodField()

    def get_download(self, obj) -> str:
        """The file's URL (answers 409 until `status` is ready); token or session auth."""
        from django.urls import reverse

        return reverse("analysis-export-download", args=[obj.pk])


class ExportCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ExportInput"

        kind = serializers.ChoiceField(
            choices=Export.Kind.choices,
            help_text="bapps: BAPPS folder layout (.tar.gz); csv / parquet: one row per "
            "judgment; datasheet: Markdown",
        )

    @extend_schema(
        request=InputSerializer,
        responses={202: ExportOutput},
        operation_id="datasets_export",
        examples=[OpenApiExample("A CSV", value={"kind": "csv"}, request_only=True)],
    )
    def post(self, request, pk: int):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = exports.export_create(dataset=dataset, kind=data.validated_data["kind"])
        return Response(ExportOutput(export).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(APIView):
    @extend_schema(responses=ExportOutput, operation_id="exports_retrieve")
    def get(self, request, pk: int):
        return Response(ExportOutput(selectors.export_get(user=request.user, pk=pk)).data)


class ExportDownloadApi(APIView):
    """The export's file (as `download` in an export names it): 409 until it is ready."""

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: OpenApiTypes.OBJECT,
        },
        operation_id="exports_download",
    )
    def get(self, request, pk: int):
        export = selectors.export_get(user=request.user, pk=pk)
        if export.status != Export.Status.READY or not export.file:
            raise ConflictError(
                f"Export {export.pk} is {export.status}, not ready to download.", code="not_ready"
            )
        return FileResponse(
            export.file.open("rb"),
            as_attachment=True,
            filename=exports.export_filename(export),
            content_type=exports.CONTENT_TYPES[export.kind],
        )


class ExportRetryApi(APIView):
    """Queue a failed export again (409 unless it failed)."""

    @extend_schema(request=None, responses={202: ExportOutput}, operation_id="exports_retry")
    def post(self, request, pk: int):
        export = exports.export_retry(export=selectors.export_get(user=request.user, pk=pk))
        return Response(ExportOutput(export).data, status=status.HTTP_202_ACCEPTED)
