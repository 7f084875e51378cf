"""Functions: the dependencies layer, the streaming ChatKit function and the API function."""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from task_assistant.storage.tables import CHAT_TABLE, TASKS_TABLE, TableSpec

from .auth import Auth
from .common import log_retention, removal_policy
from .config import EnvironmentConfig
from .data import Data
from .nag import acknowledge

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"

#: Context key / environment variable naming the built layer directory (``<dir>/python/...``).
LAYER_DIR_CONTEXT = "layer_dir"
LAYER_DIR_ENV = "TASK_ASSISTANT_LAYER_DIR"

#: Port uvicorn listens on behind the Lambda Web Adapter (8080 is taken by ``sam local``).
APP_PORT = 8000

_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
_APP_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}

#: Lambda Web Adapter layer publishers: partition -> region -> account (None: every region).
#: Commercial regions share one account; China publishes per region, x86_64 only.
LWA_LAYER_ACCOUNTS: dict[str, dict[str, str]] = {
    "aws": {"*": "753240598075"},
    "aws-cn": {"cn-north-1": "041581134020", "cn-northwest-1": "069767869989"},
}
LWA_LAYER_NAMES = {"arm64": "LambdaAdapterLayerArm64", "x86_64": "LambdaAdapterLayerX86"}

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


def lwa_layer_arn(region: str, architecture: str, version: int) -> str:
    """The Lambda Web Adapter layer ARN for a region and architecture.

    ``region`` may be an unresolved token (environment-agnostic synth); the commercial
    partition's account then applies and CloudFormation fills in the region.
    """
    name = LWA_LAYER_NAMES[architecture]
    if not Token.is_unresolved(region) and region.startswith("cn-"):
        account = LWA_LAYER_ACCOUNTS["aws-cn"].get(region)
        if account is None or architecture != "x86_64":
            raise ValueError(f"no Lambda Web Adapter layer for {architecture} in {region}; set lwa_layer_arn")
        return f"arn:aws-cn:lambda:{region}:{account}:layer:{name}:{version}"
    account = LWA_LAYER_ACCOUNTS["aws"]["*"]
    return f"arn:aws:lambda:{region}:{account}:layer:{name}:{version}"


def resolve_layer_dir(scope: Construct, architecture: str) -> Path:
    """The built dependencies-layer directory: context ``layer_dir``, env, or ``layers/build/<arch>``."""
    configured = scope.node.try_get_context(LAYER_DIR_CONTEXT) or os.environ.get(LAYER_DIR_ENV)
    path = Path(configured) if configured else REPO_ROOT / "layers" / "build" / architecture
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not (path / "python").is_dir():
        raise FileNotFoundError(
            f"dependencies layer not built: {path}/python is missing. Run `make layer` "
            f"(uv run python layers/build.py --arch {architecture}) or point -c {LAYER_DIR_CONTEXT}=<dir> "
            f"/ {LAYER_DIR_ENV} at a built layer."
        )
    return path


class Functions(Construct):
    """One dependencies layer, the function code asset and two functions sharing both.

    - ``streaming``: uvicorn behind the Lambda Web Adapter (``run.sh``), response streaming;
      serves the function URL and the API Gateway ``/chatkit`` route.
    - ``api``: the same FastAPI app through Mangum (buffered) for the ``/tasks`` routes.
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
        stack = Stack.of(self)
        architecture = _ARCHITECTURES[config.architecture]
        runtime = lambda_.Runtime.PYTHON_3_13

        # Created empty (no secret value, no generated string): the operator stores the key
        # with `aws secretsmanager put-secret-value` after the first deploy (see README).
        self.openai_secret = secretsmanager.CfnSecret(
            self,
            "OpenAIKey",
            description=f"OpenAI (or compatible) API key for {config.prefix}; set it after deploy.",
        )
        self.openai_secret_arn = self.openai_secret.ref
        acknowledge(
            self.openai_secret,
            "AwsSolutions-SMG4",
            "A third-party API key cannot be rotated by a Lambda rotator; it is rotated at the "
            "provider and stored again with put-secret-value.",
        )

        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(resolve_layer_dir(self, config.architecture))),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description=f"task-assistant third-party dependencies (python3.13, {config.architecture})",
            removal_policy=removal_policy(config),
        )
        code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=CODE_EXCLUDES)
        lwa_arn = config.lwa_layer_arn or lwa_layer_arn(
            stack.region, config.architecture, config.lwa_layer_version
        )
        self.lwa_layer = lambda_.LayerVersion.from_layer_version_arn(self, "WebAdapter", lwa_arn)

        common_env = {
            "ENVIRONMENT": config.name,
            "LOG_LEVEL": config.log_level,
            "CHAT_TABLE_NAME": data.chat_table.table_name,
            "TASKS_TABLE_NAME": data.tasks_table.table_name,
            "ATTACHMENTS_BUCKET": data.bucket.bucket_name,
            "JWT_ISSUER": auth.issuer,
            "JWKS_URL": auth.jwks_url,
            "JWT_CLIENT_IDS": auth.client.user_pool_client_id,
            "OPENAI_MODEL": config.openai_model,
            "CORS_ORIGINS": ",".join(config.cors_origins),
            # The page (GET /): its public URL, where it signs in, and the widget's domain key.
            "PAGE_URL": page_url,
            "PAGE_AUTH_DOMAIN": auth.domain.base_url(),
            "CHATKIT_DOMAIN_KEY": config.chatkit_domain_key,
            "MAX_BODY_BYTES": str(config.max_body_bytes),
            "RATE_LIMIT_PER_MINUTE": str(config.rate_limit_per_minute),
            "POWERTOOLS_SERVICE_NAME": "task-assistant",
            "POWERTOOLS_METRICS_NAMESPACE": "TaskAssistant",
            "POWERTOOLS_LOG_LEVEL": config.log_level,
        }
        if config.openai_base_url and not config.offline_model:
            common_env["OPENAI_BASE_URL"] = config.openai_base_url
        if config.item_ttl_days is not None:
            common_env["ITEM_TTL_DAYS"] = str(config.item_ttl_days)

        streaming_env = dict(common_env)
        if not config.offline_model:
            # Without a key source (and no base URL) the app runs its offline model.
            streaming_env["OPENAI_API_KEY_SECRET_ID"] = self.openai_secret_arn
        self.streaming = self._function(
            "Streaming",
            config=config,
            description="ChatKit over response streaming: uvicorn behind the Lambda Web Adapter",
            handler="run.sh",
            code=code,
            layers=[self.layer, self.lwa_layer],
            memory=config.streaming_memory_mb,
            timeout=config.streaming_timeout_seconds,
            reserved=config.streaming_reserved_concurrency,
            environment={
                **streaming_env,
                "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
                "AWS_LWA_INVOKE_MODE": "response_stream",
                "AWS_LWA_READINESS_CHECK_PATH": "/health",
                # PORT for adapter versions before 0.9, AWS_LWA_PORT after; run.sh reads PORT.
                "PORT": str(APP_PORT),
                "AWS_LWA_PORT": str(APP_PORT),
            },
            architecture=architecture,
            runtime=runtime,
        )
        self.api = self._function(
            "Api",
            config=config,
            description="Tasks REST routes: the same FastAPI app through Mangum",
            handler="task_assistant.entry.api.handler",
            code=code,
            layers=[self.layer],
            memory=config.api_memory_mb,
            timeout=config.api_timeout_seconds,
            reserved=config.api_reserved_concurrency,
            environment=dict(common_env),
            architecture=architecture,
            runtime=runtime,
        )

        # Least privilege: the streaming function runs ChatKit (threads, items, attachments,
        # the agent's task tools, the model key); the API function serves /tasks and counts
        # rate limits, whose counters live in the chat table. Neither may Scan: every read
        # is a Query or GetItem (a design rule that IAM now enforces).
        grant_table_data(self.streaming, data.chat_table, CHAT_TABLE)
        grant_table_data(self.streaming, data.tasks_table, TASKS_TABLE)
        grant_table_data(self.api, data.chat_table, CHAT_TABLE)
        grant_table_data(self.api, data.tasks_table, TASKS_TABLE)
        self.streaming.add_to_role_policy(
            iam.PolicyStatement(
                sid="AttachmentObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[data.bucket.arn_for_objects("*")],
            )
        )
        self.streaming.add_to_role_policy(
            # Without ListBucket a HEAD on a missing key answers 403 instead of 404.
            iam.PolicyStatement(
                sid="AttachmentBucket", actions=["s3:ListBucket"], resources=[data.bucket.bucket_arn]
            )
        )
        self.streaming.add_to_role_policy(
            iam.PolicyStatement(
                sid="ModelKey", actions=["secretsmanager:GetSecretValue"], resources=[self.openai_secret_arn]
            )
        )
        acknowledge(
            self.streaming.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(data.bucket.node.default_child)}.Arn>/*]",  # type: ignore[arg-type]
            "Attachment object keys are generated per user and upload; the grant covers objects of "
            "this one bucket only, with object-level actions only.",
        )
        for fn in (self.streaming, self.api):
            acknowledge(
                fn.role,  # type: ignore[arg-type]
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions "
                "(added by active tracing).",
            )
            acknowledge(
                fn,
                "AwsSolutions-L1",
                "Python 3.13 is pinned on purpose: the dependencies layer is built for cp313 wheels and "
                "the app is tested on it; runtime and layer move to a newer Python together.",
            )

    def _function(
        self,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        description: str,
        handler: str,
        code: lambda_.Code,
        layers: list[lambda_.ILayerVersion],
        memory: int,
        timeout: int,
        reserved: int | None,
        environment: dict[str, str],
        architecture: lambda_.Architecture,
        runtime: lambda_.Runtime,
    ) -> lambda_.Function:
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
            runtime=runtime,
            architecture=architecture,
            handler=handler,
            code=code,
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
        )
        log_group.grant_write(role)
        # Stable, readable logical ids: `sam local invoke -t cdk.out/<stack>.template.json
        # StreamingFunction|ApiFunction -e tests/events/<file>` names them.
        function.node.default_child.override_logical_id(f"{construct_id}Function")  # type: ignore[union-attr]
        return function
