"""Auth: the Cognito user pool that says who the user is, and its public app client."""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from task_assistant.web.scopes import API_RESOURCE_SERVER, API_SCOPE, API_SCOPE_NAME, GATEWAY_SCOPES

from .common import removal_policy
from .config import EnvironmentConfig
from .nag import acknowledge

_MFA = {"off": cognito.Mfa.OFF, "optional": cognito.Mfa.OPTIONAL, "required": cognito.Mfa.REQUIRED}


class Auth(Construct):
    """User pool (e-mail sign-in, strong passwords, TOTP MFA) and an app client without a secret.

    The client is public on purpose: the terminal client (SRP or password auth) and browser
    apps (authorization code + PKCE) cannot keep a secret. The stack's own page (``page_url``)
    signs in through the domain's managed login (hosted UI) and is always a callback and sign-out
    URL, next to the configured frontends'. A resource server grants the API's own scope
    (``task-assistant/api``), which API Gateway's authorizer accepts in access tokens
    (:attr:`gateway_scopes`). The app verifies the tokens it receives against :attr:`issuer` and
    :attr:`jwks_url`.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, page_url: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            self_sign_up_enabled=config.self_sign_up,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=_MFA[config.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=config.retain_data,
            removal_policy=removal_policy(config),
        )
        if config.mfa != "required":
            acknowledge(
                self.user_pool,
                "AwsSolutions-COG2",
                "MFA is optional by design: users opt into TOTP; requiring it would block the "
                "terminal client's password sign-in for every user.",
            )
        plus_reason = (
            "Threat protection (advanced security) needs the Cognito Plus plan, billed per active "
            "user; strong passwords, optional MFA and API throttling cover this workload."
        )
        acknowledge(self.user_pool, "AwsSolutions-COG3", plus_reason)
        acknowledge(self.user_pool, "AwsSolutions-COG8", plus_reason)

        domain_prefix = config.auth_domain_prefix or f"{config.prefix}-{Aws.ACCOUNT_ID}"
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        api_scope_definition = cognito.ResourceServerScope(
            scope_name=API_SCOPE_NAME, scope_description="Chat with the task assistant and manage tasks"
        )
        self.resource_server = self.user_pool.add_resource_server(
            "Api", identifier=API_RESOURCE_SERVER, scopes=[api_scope_definition]
        )
        # By name, so the template spells it as the page and the authorizer do; the client is created
        # after the resource server (Cognito refuses a client naming a scope that does not exist yet).
        api_scope = cognito.OAuthScope.custom(API_SCOPE)
        self.gateway_scopes = GATEWAY_SCOPES
        self.client = self.user_pool.add_client(
            "AppClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                    api_scope,
                ],
                callback_urls=[*config.callback_urls, page_url],
                logout_urls=[*config.logout_urls, page_url],
            ),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.client.node.add_dependency(self.resource_server)
        region = Stack.of(self).region
        suffix = Stack.of(self).url_suffix
        self.issuer = f"https://cognito-idp.{region}.{suffix}/{self.user_pool.user_pool_id}"
        self.jwks_url = f"{self.issuer}/.well-known/jwks.json"
