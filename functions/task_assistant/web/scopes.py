"""OAuth scopes: what the page asks Cognito for, and what API Gateway's authorizer accepts.

API Gateway's Cognito authorizer with authorization scopes accepts an **access token** carrying any one
of :data:`GATEWAY_SCOPES` and refuses ID tokens (they carry no ``scope`` claim); without scopes it would
accept ID tokens only. Access tokens are what an API should take (an ID token is addressed to the client
that asked for it), so the stack (``cdk/task_assistant_cdk``) sets these scopes and the page and the
terminal client send access tokens. The function URL door verifies tokens in the app and takes both.

- :data:`API_SCOPE`: the stack's own resource-server scope, granted to tokens from the hosted UI
  (authorization code + PKCE) when requested, as the page does (:data:`PAGE_SCOPES`).
- :data:`COGNITO_USER_SCOPE`: the scope Cognito puts in every access token from a direct sign-in
  (``USER_PASSWORD_AUTH``, SRP: the terminal client), which cannot carry custom scopes.
"""

from __future__ import annotations

from typing import Final

#: Identifier of the user pool's resource server for this API (unique per user pool).
API_RESOURCE_SERVER: Final = "task-assistant"
API_SCOPE_NAME: Final = "api"
API_SCOPE: Final = f"{API_RESOURCE_SERVER}/{API_SCOPE_NAME}"
COGNITO_USER_SCOPE: Final = "aws.cognito.signin.user.admin"

#: Scopes API Gateway's authorizer accepts (any one of them).
GATEWAY_SCOPES: Final = (API_SCOPE, COGNITO_USER_SCOPE)
#: What the page requests at sign-in: OpenID identity (its ID token names the user) and the API.
PAGE_SCOPES: Final = ("openid", "email", "profile", API_SCOPE)
