"""Functions: the dependencies layer, the streaming ChatKit function and the API function."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from task_assistant.settings import METRICS_NAMESPACE, settings_env
from task_assistant.storage.tables import CHAT_TABLE, TASKS_TABLE, TableSpec
from task_assistant.web.snapstart import AFTER_RESTORE_PATH, BEFORE_CHECKPOINT_PATH

from .auth import Auth
from .common import log_retention, removal_policy
from .config import EnvironmentConfig
from .data import Data
from .layer import resolve_layer_dir
from .nag import acknowledge
from .web_adapter import web_adapter_layer_arn

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
#: The alias the function URL and the API Gateway integrations invoke: the newest published version.
LIVE_ALIAS = "live"

#: Port uvicorn listens on behind the Lambda Web Adapter (8080 is taken by ``sam local``).
APP_PORT = 8000

#: How the Lambda Web Adapter starts ``run.sh``, waits for the app and streams its responses.
WEB_ADAPTER_ENVIRONMENT = {
    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
    "AWS_LWA_INVOKE_MODE": "response_stream",
    "AWS_LWA_READINESS_CHECK_PATH": "/health",
    # PORT for adapter versions before 0.9, AWS_LWA_PORT after; run.sh reads PORT.
    "PORT": str(APP_PORT),
    "AWS_LWA_PORT": str(APP_PORT),
}

_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
_APP_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}

#: Files of ``functions/`` that never belong in the code asset.
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache", "**/.DS_Store"]


#: DynamoDB data-plane actions the app uses; deliberately no Scan and no table management.
TABLE_DATA_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]


def grant_table_data(fn: lambda_.Function, table: dynamodb.ITable, spec: TableSpec) -> None:
    """Let ``fn`` read and write items of ``table`` and query exactly the indexes in ``spec``.

    Index ARNs are named one by one (no ``index/*``) from the same spec the table was built from.
    """
    indexes = [ix.name for ix in (*spec.global_indexes, *spec.local_indexes)]
    fn.add_to_role_policy(
        iam.PolicyStatement(
            sid=f"{spec.logical_id}Data",
            actions=TABLE_DATA_ACTIONS,
            resources=[table.table_arn, *(f"{table.table_arn}/index/{name}" for name in indexes)],
        )
    )


#: What a request's deadline leaves of the API function's timeout (API Gateway's 29 s at most): a cold
#: start's init and Mangum's own work.
REQUEST_MARGIN_SECONDS = 4
#: What a stream's deadline leaves of the streaming function's timeout: saving the partial answer (a few
#: DynamoDB calls, each bounded by the client timeouts) and sending the closing error event.
STREAM_MARGIN_SECONDS = 20


def deadline_below(timeout_seconds: int, margin_seconds: int) -> int:
    """A deadline ``margin_seconds`` under ``timeout_seconds`` (at most a fifth of it, at least 1 s under)."""
    return timeout_seconds - max(1, min(margin_seconds, timeout_seconds // 5))


def app_environment(config: EnvironmentConfig, data: Data, auth: Auth, page_url: str) -> dict[str, str]:
    """What both functions tell the app (its Settings fields) and Powertools."""
    return {
        **settings_env(
            environment=config.name,
            log_level=config.log_level,
            chat_table_name=data.chat_table.table_name,
            tasks_table_name=data.tasks_table.table_name,
            attachments_bucket=data.bucket.bucket_name,
            jwt_issuer=auth.issuer,
            jwks_url=auth.jwks_url,
            jwt_client_ids=auth.client.user_pool_client_id,
            openai_model=config.openai_model,
            cors_origins=config.cors_origins,
            max_body_bytes=config.max_body_bytes,
            rate_limit_per_minute=config.rate_limit_per_minute,
            # Each request's budget stays under its door's limit (see task_assistant.web.deadline).
            request_deadline_seconds=deadline_below(config.api_timeout_seconds, REQUEST_MARGIN_SECONDS),
            stream_deadline_seconds=deadline_below(config.streaming_timeout_seconds, STREAM_MARGIN_SECONDS),
            # The page (GET /): its public URL, where it signs in, and the widget's domain key.
            page_url=page_url,
            page_auth_domain=auth.domain.base_url(),
            chatkit_domain_key=config.chatkit_domain_key,
        ),
        **powertools_environment(config),
        # Optional: unset ones keep the app's defaults.
        **settings_env(
            openai_base_url=None if config.offline_model else (config.openai_base_url or None),
            item_ttl_days=config.item_ttl_days,
        ),
    }


def powertools_environment(config: EnvironmentConfig) -> dict[str, str]:
    """Powertools' own variables; the metrics namespace is also a Settings field (the app reads it)."""
    return {
        "POWERTOOLS_SERVICE_NAME": "task-assistant",
        **settings_env(powertools_metrics_namespace=METRICS_NAMESPACE),
        "POWERTOOLS_LOG_LEVEL": config.log_level,
    }


class Functions(Construct):
    """One dependencies layer, the function code asset and two functions sharing both.

    - ``streaming``: uvicorn behind the Lambda Web Adapter (``run.sh``), response streaming;
      serves the function URL and the API Gateway ``/chatkit`` route.
    - ``api``: the same FastAPI app through Mangum (buffered) for the ``/tasks`` routes.

    Each publishes a version on every change, and ``streaming_live`` / ``api_live`` (the ``live`` alias
    of it) are what callers invoke; with ``snapstart`` Lambda restores those versions from a snapshot
    (the app's hooks: :mod:`task_assistant.web.snapstart`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: Data,
        auth: Auth,
        page_url: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._architecture = _ARCHITECTURES[config.architecture]
        self._runtime = lambda_.Runtime.PYTHON_3_13
        self._code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=CODE_EXCLUDES)

        self.openai_secret = self._model_key_secret()
        self.openai_secret_arn = self.openai_secret.ref
        self.layer = self._dependencies_layer()
        self.lwa_layer = self._web_adapter_layer()
        environment = app_environment(config, data, auth, page_url)
        self.streaming = self._streaming_function(environment)
        self.api = self._api_function(environment)
        # What the function URL and the API Gateway integrations invoke: SnapStart restores published
        # versions only, so every caller goes through an alias of the newest one (in every environment,
        # so dev exercises the same wiring prod uses).
        self.streaming_live = self._live_alias(self.streaming)
        self.api_live = self._live_alias(self.api)
        self._grant_data_access(data)

    def _model_key_secret(self) -> secretsmanager.CfnSecret:
        # Created empty (no secret value, no generated string): the operator stores the key
        # with `aws secretsmanager put-secret-value` after the first deploy (see README).
        secret = secretsmanager.CfnSecret(
            self,
            "OpenAIKey",
            description=f"OpenAI (or compatible) API key for {self._config.prefix}; set it after deploy.",
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "A third-party API key cannot be rotated by a Lambda rotator; it is rotated at the "
            "provider and stored again with put-secret-value.",
        )
        return secret

    def _dependencies_layer(self) -> lambda_.LayerVersion:
        config = self._config
        return lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(resolve_layer_dir(self, config.architecture))),
            compatible_runtimes=[self._runtime],
            compatible_architectures=[self._architecture],
            description=f"task-assistant third-party dependencies (python3.13, {config.architecture})",
            removal_policy=removal_policy(config),
        )

    def _web_adapter_layer(self) -> lambda_.ILayerVersion:
        config = self._config
        arn = config.lwa_layer_arn or web_adapter_layer_arn(self, config.architecture)
        return lambda_.LayerVersion.from_layer_version_arn(self, "WebAdapter", arn)

    def _streaming_function(self, app_env: dict[str, str]) -> lambda_.Function:
        # Without a key source (and no base URL) the app runs its offline model.
        key_source = None if self._config.offline_model else self.openai_secret_arn
        # Under SnapStart the adapter (>= v1.1.0) POSTs to these paths around the snapshot; the app
        # serves them only then, and only to the adapter (task_assistant.web.snapstart).
        hooks = (BEFORE_CHECKPOINT_PATH, AFTER_RESTORE_PATH) if self._config.snapstart else (None, None)
        return self._function(
            "Streaming",
            description="ChatKit over response streaming: uvicorn behind the Lambda Web Adapter",
            handler="run.sh",
            layers=[self.layer, self.lwa_layer],
            memory=self._config.streaming_memory_mb,
            timeout=self._config.streaming_timeout_seconds,
            reserved=self._config.streaming_reserved_concurrency,
            environment={
                **app_env,
                **settings_env(
                    openai_api_key_secret_id=key_source,
                    aws_lwa_snapstart_before_checkpoint_path=hooks[0],
                    aws_lwa_snapstart_after_restore_path=hooks[1],
                ),
                **WEB_ADAPTER_ENVIRONMENT,
            },
        )

    def _api_function(self, app_env: dict[str, str]) -> lambda_.Function:
        return self._function(
            "Api",
            description="Tasks REST routes: the same FastAPI app through Mangum",
            handler="task_assistant.entry.api.handler",
            layers=[self.layer],
            memory=self._config.api_memory_mb,
            timeout=self._config.api_timeout_seconds,
            reserved=self._config.api_reserved_concurrency,
            environment=dict(app_env),
        )

    def _live_alias(self, function: lambda_.Function) -> lambda_.Alias:
        """The ``live`` alias of the version published from the function's current configuration."""
        alias = lambda_.Alias(
            self,
            f"{function.node.id}Live",
            alias_name=LIVE_ALIAS,
            version=function.current_version,
            description="The newest published version; SnapStart restores these",
        )
        cfn_alias = alias.node.default_child
        assert isinstance(cfn_alias, CfnElement), "a lambda.Alias is backed by a CfnAlias"
        cfn_alias.override_logical_id(f"{function.node.id}LiveAlias")
        if self._config.snapstart:
            # CDK warns that SnapStart needs published versions; current_version and this alias are those.
            Annotations.of(function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "Published on every change through current_version; callers invoke the live alias.",
            )
        return alias

    def _grant_data_access(self, data: Data) -> None:
        # Least privilege: the streaming function runs ChatKit (threads, items, attachments,
        # the agent's task tools, the model key); the API function serves /tasks and counts
        # rate limits, whose counters live in the chat table. Neither may Scan: every read
        # is a Query or GetItem (a design rule that IAM now enforces).
        for fn in (self.streaming, self.api):
            grant_table_data(fn, data.chat_table, CHAT_TABLE)
            grant_table_data(fn, data.tasks_table, TASKS_TABLE)
        self._grant_attachments(data.bucket)
        self.streaming.add_to_role_policy(
            iam.PolicyStatement(
                sid="ModelKey", actions=["secretsmanager:GetSecretValue"], resources=[self.openai_secret_arn]
            )
        )

    def _grant_attachments(self, bucket: s3.Bucket) -> None:
        """Object access to the attachments bucket for the streaming function only."""
        self.streaming.add_to_role_policy(
            iam.PolicyStatement(
                sid="AttachmentObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        self.streaming.add_to_role_policy(
            # Without ListBucket a HEAD on a missing key answers 403 instead of 404.
            iam.PolicyStatement(
                sid="AttachmentBucket", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]
            )
        )
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, CfnElement), "an s3.Bucket is backed by a CfnBucket"
        role = self.streaming.role
        assert role is not None, "_function gives every function its own role"
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(cfn_bucket)}.Arn>/*]",
            "Attachment object keys are generated per user and upload; the grant covers objects of "
            "this one bucket only, with object-level actions only.",
        )

    def _function(
        self,
        construct_id: str,
        *,
        description: str,
        handler: str,
        layers: list[lambda_.ILayerVersion],
        memory: int,
        timeout: int,
        reserved: int | None,
        environment: dict[str, str],
    ) -> lambda_.Function:
        """A function with its own log group and role, sharing the code asset, runtime and architecture.

        Active tracing and the pinned runtime are set here, so their cdk-nag findings are acknowledged here.
        """
        config = self._config
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=log_retention(config),
            removal_policy=removal_policy(config),
        )
        # An explicit role without the AWSLambdaBasicExecutionRole managed policy: it may
        # write only to its own log group.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{config.prefix} {construct_id} function",
        )
        function = lambda_.Function(
            self,
            construct_id,
            description=description,
            runtime=self._runtime,
            architecture=self._architecture,
            handler=handler,
            code=self._code,
            layers=layers,
            memory_size=memory,
            timeout=Duration.seconds(timeout),
            reserved_concurrent_executions=reserved,
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            # Same level as Powertools, so Lambda's filter and the app's logger agree.
            application_log_level_v2=_APP_LOG_LEVELS[config.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            role=role,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if config.snapstart else None,
            # A replaced version is deleted once the alias moved on: under SnapStart each kept version
            # would keep a billed snapshot cache.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        log_group.grant_write(role)
        # Stable, readable logical ids: `sam local invoke -t cdk.out/<stack>.template.json
        # StreamingFunction|ApiFunction -e tests/events/<file>` names them.
        cfn_function = function.node.default_child
        assert isinstance(cfn_function, CfnElement), "a lambda.Function is backed by a CfnFunction"
        cfn_function.override_logical_id(f"{construct_id}Function")
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions "
            "(added by active tracing).",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Python 3.13 is pinned on purpose: the dependencies layer is built for cp313 wheels and "
            "the app is tested on it; runtime and layer move to a newer Python together.",
        )
        return function
