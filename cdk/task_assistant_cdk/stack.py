"""The task assistant stack: data, auth, functions, API and observability for one environment."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack, Tags
from constructs import Construct

from .api import Api
from .auth import Auth
from .config import EnvironmentConfig
from .data import Data
from .functions import Functions
from .observability import Observability


class TaskAssistantStack(Stack):
    """Everything one environment needs; outputs are what a frontend and the CLI need."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        env: Environment | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Task assistant ({config.name})", env=env)
        self.config = config
        Tags.of(self).add("project", "task-assistant")
        Tags.of(self).add("environment", config.name)

        # The REST API first: the page's URL (made from its id) goes into the bucket's CORS, the app
        # client's callback URLs and the functions' environment; the routes come last (see Api).
        self.api = Api(self, "Api", config=config)
        self.data = Data(self, "Data", config=config, page_origin=self.api.page_origin)
        self.auth = Auth(self, "Auth", config=config, page_url=self.api.page_url)
        self.functions = Functions(
            self, "Functions", config=config, data=self.data, auth=self.auth, page_url=self.api.page_url
        )
        self.api.add_routes(auth=self.auth, functions=self.functions)
        self.observability = Observability(
            self, "Observability", config=config, data=self.data, functions=self.functions, api=self.api
        )

        outputs = {
            "PageUrl": (self.api.page_url, "The page to try the assistant: Cognito sign-in, then chat"),
            "FunctionUrl": (
                self.api.function_url.url,
                "Streaming door (app verifies the JWT): ChatKit at <url>chatkit",
            ),
            "ApiUrl": (self.api.rest_api.url, "REST API base URL (stage included)"),
            "UserPoolId": (self.auth.user_pool.user_pool_id, "Cognito user pool id"),
            "AppClientId": (self.auth.client.user_pool_client_id, "Cognito app client id (no secret)"),
            "AuthDomain": (self.auth.domain.base_url(), "Cognito hosted UI base URL (code + PKCE)"),
            "Issuer": (self.auth.issuer, "JWT issuer the app trusts"),
            "Region": (self.region, "Region of the stack"),
            "ChatTableName": (self.data.chat_table.table_name, "Chat table"),
            "TasksTableName": (self.data.tasks_table.table_name, "Tasks table"),
            "AttachmentsBucketName": (self.data.bucket.bucket_name, "Attachments bucket"),
            "OpenAIKeySecretArn": (
                self.functions.openai_secret_arn,
                "Set the key: aws secretsmanager put-secret-value",
            ),
            "AlarmTopicArn": (self.observability.topic.topic_arn, "Alarm notifications"),
            "DashboardName": (config.prefix, "CloudWatch dashboard"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
