"""API: the REST API with a Cognito authorizer, and the streaming function's URL."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .auth import Auth
from .common import log_retention, removal_policy
from .config import EnvironmentConfig
from .functions import Functions
from .nag import acknowledge

_CORS_HEADERS = ["Authorization", "Content-Type", "If-Match", "X-Request-Id"]


class Api(Construct):
    """Two doors to one app.

    - Function URL (``RESPONSE_STREAM``, auth ``NONE``): the ChatKit widget's door. Function
      URLs only know IAM auth, so the app verifies the Cognito JWT itself (and answers CORS).
    - REST API (stage = environment name) behind a Cognito user pool authorizer:
      ``/chatkit`` streams from the streaming function (``ResponseTransferMode.STREAM``);
      ``/tasks`` and everything below it go to the API function (Mangum, buffered).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        auth: Auth,
        functions: Functions,
    ) -> None:
        super().__init__(scope, construct_id)
        cors_origins = list(config.cors_origins)

        # No CORS block on the URL: the app answers CORS itself (CORS_ORIGINS), preflight
        # included, and Lambda's URL CORS would add a second Access-Control-Allow-Origin.
        self.function_url = functions.streaming.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE,
            invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM,
        )

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(config),
            removal_policy=removal_policy(config),
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.prefix}-api",
            description="Task assistant: /chatkit (streaming) and /tasks",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-level role API Gateway needs to write execution logs.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.name,
                throttling_rate_limit=config.api_throttle_rate,
                throttling_burst_limit=config.api_throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request bodies: user messages
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            # Preflight requests carry no token, so the authorizer would reject them: API
            # Gateway answers them (MOCK); actual responses get CORS headers from the app.
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=cors_origins,
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=_CORS_HEADERS,
                max_age=Duration.hours(1),
            )
            if cors_origins
            else None,
        )
        if len(cors_origins) == 1:
            # Errors API Gateway itself returns (401 from the authorizer, 429 throttling, 5XX)
            # never reach the app, so they carry CORS headers from here; otherwise a browser
            # sees an opaque CORS failure instead of "token expired". (A gateway response
            # header is static, so this needs exactly one origin.)
            for name, kind in (
                ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
                ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
            ):
                self.rest_api.add_gateway_response(
                    name,
                    type=kind,
                    response_headers={
                        "Access-Control-Allow-Origin": f"'{cors_origins[0]}'",
                        "Vary": "'Origin'",
                    },
                )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[auth.user_pool], results_cache_ttl=Duration.minutes(5)
        )
        cognito = apigw.MethodOptions(
            authorizer=self.authorizer, authorization_type=apigw.AuthorizationType.COGNITO
        )

        streaming = apigw.LambdaIntegration(
            functions.streaming,
            proxy=True,
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=Duration.seconds(config.streaming_timeout_seconds),
        )
        chatkit = self.rest_api.root.add_resource("chatkit")
        chatkit.add_method(
            "POST", streaming, authorizer=self.authorizer, authorization_type=apigw.AuthorizationType.COGNITO
        )

        api = apigw.LambdaIntegration(functions.api, proxy=True)
        tasks = self.rest_api.root.add_resource("tasks")
        tasks.add_method(
            "ANY", api, authorizer=self.authorizer, authorization_type=apigw.AuthorizationType.COGNITO
        )
        # /tasks/{task_id}, /tasks/{task_id}/complete, /tasks/{task_id}/reopen, ...
        tasks.add_proxy(default_integration=api, default_method_options=cognito)

        acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role: AWS's managed policy is the documented way to "
            "let API Gateway write execution logs to CloudWatch.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "The app validates every body with pydantic models and answers 4xx naming the field; "
            "API Gateway models would duplicate those schemas.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "No WAF: every route requires a Cognito token, and stage throttling plus the app's per-user "
            "rate limit bound abuse; a web ACL costs a fixed monthly fee per environment.",
        )
