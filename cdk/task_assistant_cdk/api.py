"""API: the REST API with a Cognito authorizer, the page to try it, and the streaming function's URL."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from task_assistant.web import cors
from task_assistant.web.page_paths import PUBLIC_PATHS
from task_assistant.web.scopes import GATEWAY_SCOPES

from .auth import Auth
from .common import log_retention, removal_policy
from .config import EnvironmentConfig
from .functions import Functions
from .nag import acknowledge

#: The stage's execution logging per config value ("off" needs no account-level role).
_EXECUTION_LOGGING = {
    "off": apigw.MethodLoggingLevel.OFF,
    "ERROR": apigw.MethodLoggingLevel.ERROR,
    "INFO": apigw.MethodLoggingLevel.INFO,
}

#: Errors API Gateway answers itself, before the app runs: authorizer 401/403, throttling 429, its own
#: 5XX. The specific types (UNAUTHORIZED, ACCESS_DENIED, THROTTLED, ...) inherit from these defaults.
GATEWAY_ERROR_RESPONSES = {
    "Default4xx": apigw.ResponseType.DEFAULT_4_XX,
    "Default5xx": apigw.ResponseType.DEFAULT_5_XX,
}


def gateway_error_cors_headers(origins: Sequence[str]) -> dict[str, str]:
    """CORS headers for the errors API Gateway answers itself, so a browser can read "token expired".

    A gateway response's headers are static: it cannot check the request's ``Origin`` against a list
    and echo it. With one configured origin the header names it. With several it is ``*``, which is
    safe here: these answers carry no user data (a fixed message), and the API authenticates with
    bearer tokens, never cookies, so no credentialed request relies on them (a wildcard never allows
    credentials). Successful and app-made answers keep echoing only the configured origins.
    """
    if not origins:
        return {}
    headers = {"Access-Control-Expose-Headers": ",".join(cors.EXPOSE_HEADERS)}
    if len(origins) == 1:
        return {**headers, "Access-Control-Allow-Origin": origins[0], "Vary": "Origin"}
    return {**headers, "Access-Control-Allow-Origin": "*"}


class Api(Construct):
    """Two doors to one app, plus the page to try it.

    - Function URL (``RESPONSE_STREAM``, auth ``NONE``): the ChatKit widget's door for frontends
      hosted elsewhere. Function URLs only know IAM auth, so the app verifies the Cognito JWT itself
      (and answers CORS).
    - REST API (stage = environment name) behind a Cognito user pool authorizer that takes access tokens
      carrying one of :data:`~task_assistant.web.scopes.GATEWAY_SCOPES` (a Cognito authorizer with scopes
      refuses ID tokens; see docs/http-api.md "Authentication"):
      ``/chatkit`` streams from the streaming function (``ResponseTransferMode.STREAM``);
      ``GET /chatkit/feedback``, ``/tasks`` and everything below it go to the API function (Mangum,
      buffered).
    - Both doors invoke the functions' ``live`` alias (published versions: what SnapStart restores).
    - The page (``GET /`` and its files, no authorizer) on the REST API: :attr:`page_url`. It signs in
      with Cognito managed login and talks to ``/chatkit`` on its own origin (no CORS involved).

    Built in two steps because of a cycle CloudFormation would refuse: the app client's callback URL
    and the functions' environment name the page URL, and the routes need the functions. The page
    URL is therefore made from the REST API's id and the stage *name* (``rest_api.url`` would
    reference the stage, which depends on every method): :meth:`add_routes` comes last.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        cors_origins = list(config.cors_origins)

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
            description="Task assistant: /chatkit (streaming), /tasks and the page to try it",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Never the account-wide AWS::ApiGateway::Account (one CloudWatch role per account and region,
            # overwritten by each stack that sets it): execution logs are opt-in (api_execution_logging)
            # and use the role the account already has.
            cloud_watch_role=False,
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
                logging_level=_EXECUTION_LOGGING[config.api_execution_logging],
                data_trace_enabled=False,  # would log request bodies: user messages
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            # Preflight requests carry no token, so the authorizer would reject them: API
            # Gateway answers them (MOCK) with the app's own header list (task_assistant.web.cors);
            # actual responses get CORS headers from the app.
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=cors_origins,
                allow_methods=list(cors.ALLOW_METHODS),
                allow_headers=list(cors.ALLOW_HEADERS),
                max_age=Duration.seconds(cors.MAX_AGE_SECONDS),
            )
            if cors_origins
            else None,
        )
        # Errors API Gateway itself returns (401 from the authorizer, 429 throttling, 5XX) never
        # reach the app, so they carry CORS headers from here; otherwise a browser sees an opaque
        # CORS failure instead of "token expired".
        error_headers = gateway_error_cors_headers(cors_origins)
        if error_headers:
            for name, kind in GATEWAY_ERROR_RESPONSES.items():
                self.rest_api.add_gateway_response(
                    name,
                    type=kind,
                    response_headers={key: f"'{value}'" for key, value in error_headers.items()},
                )

        stack = Stack.of(self)
        self.page_origin = (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"
        )
        self.page_url = f"{self.page_origin}/{config.name}/"

    def add_routes(self, *, auth: Auth, functions: Functions) -> None:
        """The function URL, the authorizer and every route (after auth and functions exist)."""
        # No CORS block on the URL: the app answers CORS itself (CORS_ORIGINS), preflight
        # included, and Lambda's URL CORS would add a second Access-Control-Allow-Origin.
        self.function_url = functions.streaming_live.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE,
            invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM,
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[auth.user_pool], results_cache_ttl=Duration.minutes(5)
        )
        # With scopes, the authorizer takes access tokens only: ID tokens (no `scope` claim) get 401.
        # Given method by method: as a resource's default they would reach the CORS preflight too.
        scopes = list(GATEWAY_SCOPES)

        streaming = apigw.LambdaIntegration(
            functions.streaming_live,
            proxy=True,
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=Duration.seconds(self.config.streaming_timeout_seconds),
        )
        chatkit = self.rest_api.root.add_resource("chatkit")
        chatkit.add_method(
            "POST",
            streaming,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorization_scopes=scopes,
        )

        api = apigw.LambdaIntegration(functions.api_live, proxy=True)
        # GET /chatkit/feedback: feedback given on a thread, read back (JSON, owner only, buffered).
        chatkit.add_resource("feedback").add_method(
            "GET",
            api,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorization_scopes=scopes,
        )
        tasks = self.rest_api.root.add_resource("tasks")
        tasks.add_method(
            "ANY",
            api,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorization_scopes=scopes,
        )
        # /tasks/{task_id}, /tasks/{task_id}/complete, /tasks/{task_id}/reopen, ...
        tasks.add_proxy(any_method=False).add_method(
            "ANY",
            api,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorization_scopes=scopes,
        )

        for path in PUBLIC_PATHS:
            self._add_page_route(path, api)

        if self.config.api_execution_logging == "off":
            acknowledge(
                self.rest_api,
                "AwsSolutions-APIG6",
                "Execution logs need the account-wide API Gateway CloudWatch role, which an application "
                "stack must not own; JSON access logs record every request, and api_execution_logging "
                "turns execution logs on where the account has that role.",
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

    def _add_page_route(self, path: str, integration: apigw.Integration) -> None:
        """``GET path`` without an authorizer: the page's HTML, script, style and public config."""
        resource = self.rest_api.root
        for part in path.strip("/").split("/") if path != "/" else []:
            resource = resource.get_resource(part) or resource.add_resource(part)
        method = resource.add_method("GET", integration, authorization_type=apigw.AuthorizationType.NONE)
        reason = (
            "The page to try the assistant must load before anyone signs in: it is static HTML, script and "
            "style plus a config document naming public values (Cognito domain, client id); it signs in "
            "with Cognito managed login and every API route it calls requires the Cognito authorizer."
        )
        acknowledge(method, "AwsSolutions-APIG4", reason)
        acknowledge(method, "AwsSolutions-COG4", reason)
