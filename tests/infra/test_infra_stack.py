"""Template assertions: every resource and security property of the stack, for dev and prod."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from support.infra import Synthesized
from task_assistant.settings import Settings
from task_assistant.storage.tables import CHAT_TABLE, TASKS_TABLE, TableSpec
from task_assistant.web import cors
from task_assistant.web.page_paths import PUBLIC_PATHS
from task_assistant.web.scopes import API_SCOPE, GATEWAY_SCOPES
from task_assistant.web.snapstart import AFTER_RESTORE_PATH, BEFORE_CHECKPOINT_PATH
from task_assistant_cdk.web_adapter import numbered_regions

pytestmark = pytest.mark.timeout(600)

ENVS = ["dev", "prod"]


@pytest.fixture(params=ENVS)
def synth(request: pytest.FixtureRequest) -> Synthesized:
    return request.getfixturevalue(request.param)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _table(s: Synthesized, spec: TableSpec) -> dict[str, Any]:
    table = getattr(s.stack.data, "chat_table" if spec is CHAT_TABLE else "tasks_table")
    return s.raw["Resources"][s.logical_id(table)]


def _function(s: Synthesized, name: str) -> dict[str, Any]:
    return s.raw["Resources"][s.logical_id(getattr(s.stack.functions, name))]


def _alias_id(s: Synthesized, name: str) -> str:
    """The logical id of the ``live`` alias of function ``name`` (what every caller invokes)."""
    return s.logical_id(getattr(s.stack.functions, f"{name}_live"))


def _env(s: Synthesized, name: str) -> dict[str, Any]:
    return _function(s, name)["Properties"]["Environment"]["Variables"]


def _policy_statements(s: Synthesized, fn_name: str) -> list[dict[str, Any]]:
    role = getattr(s.stack.functions, fn_name).role
    role_id = s.logical_id(role)
    statements: list[dict[str, Any]] = []
    for policy in s.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _page_url(s: Synthesized) -> Any:
    """The page URL as the template spells it (see test_page_url_is_made_from_the_api_id_and_stage_name)."""
    return s.stack.resolve(s.stack.api.page_url)


def _page_origin(s: Synthesized) -> Any:
    return s.stack.resolve(s.stack.api.page_origin)


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [CHAT_TABLE, TASKS_TABLE], ids=lambda s: s.logical_id)
def test_tables_match_the_application_specs(synth: Synthesized, spec: TableSpec) -> None:
    """The deployed keys and indexes are exactly those the code and the local tables use."""
    props = _table(synth, spec)["Properties"]
    expected = spec.create_table_kwargs("unused")
    assert props["KeySchema"] == expected["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=_dump) == sorted(
        expected["AttributeDefinitions"], key=_dump
    )
    gsis = {ix["IndexName"]: ix for ix in props.get("GlobalSecondaryIndexes", [])}
    assert {ix["IndexName"]: ix["KeySchema"] for ix in expected.get("GlobalSecondaryIndexes", [])} == {
        name: ix["KeySchema"] for name, ix in gsis.items()
    }
    lsis = {ix["IndexName"]: ix for ix in props.get("LocalSecondaryIndexes", [])}
    assert {ix["IndexName"]: ix["KeySchema"] for ix in expected.get("LocalSecondaryIndexes", [])} == {
        name: ix["KeySchema"] for name, ix in lsis.items()
    }
    for index in (*gsis.values(), *lsis.values()):
        assert index["Projection"] == {"ProjectionType": "ALL"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    # SSEEnabled without a key: KMS with the AWS managed key (aws/dynamodb)
    assert props["SSESpecification"] == {"SSEEnabled": True}
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


@pytest.mark.parametrize("spec", [CHAT_TABLE, TASKS_TABLE], ids=lambda s: s.logical_id)
def test_prod_tables_are_retained_with_pitr_and_dev_tables_are_disposable(
    dev: Synthesized, prod: Synthesized, spec: TableSpec
) -> None:
    kept = _table(prod, spec)
    assert kept["DeletionPolicy"] == kept["UpdateReplacePolicy"] == "Retain"
    assert kept["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert kept["Properties"]["DeletionProtectionEnabled"] is True
    disposable = _table(dev, spec)
    assert disposable["DeletionPolicy"] == "Delete"
    assert disposable["Properties"].get("PointInTimeRecoverySpecification", {}).get(
        "PointInTimeRecoveryEnabled"
    ) in (None, False)
    assert disposable["Properties"].get("DeletionProtectionEnabled") in (None, False)


def test_bucket_blocks_public_access_and_requires_tls(synth: Synthesized) -> None:
    props = synth.one("AWS::S3::Bucket")["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = synth.one("AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    deny_plain_http = [
        st
        for st in policy
        if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert deny_plain_http and deny_plain_http[0]["Action"] == "s3:*"


def test_bucket_cors_allows_presigned_uploads_from_configured_origins_and_the_page_only(
    synth: Synthesized,
) -> None:
    rules = synth.one("AWS::S3::Bucket")["Properties"]["CorsConfiguration"]["CorsRules"]
    assert len(rules) == 1
    assert rules[0]["AllowedOrigins"] == [*synth.stack.config.cors_origins, _page_origin(synth)]
    assert "*" not in rules[0]["AllowedOrigins"]
    assert set(rules[0]["AllowedMethods"]) == {"PUT", "GET", "HEAD"}


def test_bucket_lifecycle(dev: Synthesized, prod: Synthesized) -> None:
    """Abandoned multipart uploads are aborted everywhere; objects expire with the chat items' TTL."""
    dev_rules = {
        r["Id"]: r for r in dev.one("AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert dev_rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    assert dev.stack.config.item_ttl_days is not None
    assert dev_rules["expire-with-chat-items"]["ExpirationInDays"] == dev.stack.config.item_ttl_days + 1
    prod_rules = {
        r["Id"]: r for r in prod.one("AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert prod.stack.config.item_ttl_days is None
    assert set(prod_rules) == {"abort-incomplete-uploads"}  # prod keeps chat data: nothing expires


def test_bucket_retention(dev: Synthesized, prod: Synthesized) -> None:
    assert prod.one("AWS::S3::Bucket")["DeletionPolicy"] == "Retain"
    assert dev.one("AWS::S3::Bucket")["DeletionPolicy"] == "Delete"
    # dev empties the bucket on stack deletion; prod never deletes objects
    assert dev.resources("Custom::S3AutoDeleteObjects")
    assert not prod.resources("Custom::S3AutoDeleteObjects")


# --- auth -------------------------------------------------------------------------------------


def test_user_pool_email_sign_in_strong_passwords_optional_totp(synth: Synthesized) -> None:
    props = synth.one("AWS::Cognito::UserPool")["Properties"]
    assert props["UsernameAttributes"] == ["email"]
    assert props["AutoVerifiedAttributes"] == ["email"]
    assert props["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireUppercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert props["MfaConfiguration"] == "OPTIONAL"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["AccountRecoverySetting"] == {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }


def test_user_pool_retention_and_sign_up(dev: Synthesized, prod: Synthesized) -> None:
    kept = prod.one("AWS::Cognito::UserPool")
    assert kept["DeletionPolicy"] == "Retain"
    assert kept["Properties"]["DeletionProtection"] == "ACTIVE"
    assert kept["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    disposable = dev.one("AWS::Cognito::UserPool")
    assert disposable["DeletionPolicy"] == "Delete"
    assert disposable["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False


def test_app_client_is_public_with_srp_password_and_pkce_code_flow(synth: Synthesized) -> None:
    props = synth.one("AWS::Cognito::UserPoolClient")["Properties"]
    assert props["GenerateSecret"] is False
    assert set(props["ExplicitAuthFlows"]) == {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(props["AllowedOAuthScopes"]) == {"openid", "email", "profile", API_SCOPE}
    # The configured frontends' URLs, and the stack's own page (it signs in with code + PKCE).
    assert props["CallbackURLs"] == [*synth.stack.config.callback_urls, _page_url(synth)]
    assert props["LogoutURLs"] == [*synth.stack.config.logout_urls, _page_url(synth)]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert synth.one("AWS::Cognito::UserPoolDomain")


def test_resource_server_grants_the_api_scope(synth: Synthesized) -> None:
    """The scope the page asks for and API Gateway's authorizer accepts (task_assistant.web.scopes)."""
    server = synth.one("AWS::Cognito::UserPoolResourceServer")["Properties"]
    identifier, scope = API_SCOPE.split("/")
    assert server["Identifier"] == identifier
    assert [s["ScopeName"] for s in server["Scopes"]] == [scope]
    assert server["UserPoolId"] == {"Ref": synth.logical_id(synth.stack.auth.user_pool)}
    client = synth.raw["Resources"][synth.logical_id(synth.stack.auth.client)]
    assert synth.logical_id(synth.stack.auth.resource_server) in client["DependsOn"]


def test_callback_urls_differ_per_environment(dev: Synthesized, prod: Synthesized) -> None:
    *dev_urls, dev_page = dev.one("AWS::Cognito::UserPoolClient")["Properties"]["CallbackURLs"]
    *prod_urls, prod_page = prod.one("AWS::Cognito::UserPoolClient")["Properties"]["CallbackURLs"]
    assert dev_urls and all(url.startswith("http://localhost") for url in dev_urls)
    assert prod_urls and all(url.startswith("https://") for url in prod_urls)
    assert (dev_page, prod_page) == (_page_url(dev), _page_url(prod))
    assert _dump(dev_page).endswith('"/dev/"]]}') and _dump(prod_page).endswith('"/prod/"]]}')


def test_openai_secret_is_created_without_a_value(synth: Synthesized) -> None:
    secret = synth.one("AWS::SecretsManager::Secret")
    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" not in secret["Properties"]
    secret_id = next(iter(synth.resources("AWS::SecretsManager::Secret")))
    assert _env(synth, "streaming")["OPENAI_API_KEY_SECRET_ID"] == {"Ref": secret_id}


def test_offline_model_deployment_has_no_key_source(synthesize: Any) -> None:
    """`-c offline_model=true`: the app gets no secret id (so it runs the offline model)."""
    offline = synthesize("dev", offline_model="true", openai_base_url="https://llm.example.com/v1")
    assert "OPENAI_API_KEY_SECRET_ID" not in _env(offline, "streaming")
    assert "OPENAI_BASE_URL" not in _env(offline, "streaming")


# --- functions --------------------------------------------------------------------------------


def test_dependencies_layer_targets_python313_and_the_configured_architecture(synth: Synthesized) -> None:
    props = synth.one("AWS::Lambda::LayerVersion")["Properties"]
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["arm64"]


def test_streaming_function_runs_uvicorn_behind_the_web_adapter(synth: Synthesized) -> None:
    props = _function(synth, "streaming")["Properties"]
    layer_id = next(iter(synth.resources("AWS::Lambda::LayerVersion")))
    assert props["Handler"] == "run.sh"
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Layers"][0] == {"Ref": layer_id}
    # Environment-agnostic: the region's own adapter layer from the mapping (test_infra_web_adapter.py).
    assert props["Layers"][1] == {"Fn::FindInMap": ["WebAdapterLayers", {"Ref": "AWS::Region"}, "arn"]}
    adapters = {entry["arn"] for entry in synth.raw["Mappings"]["WebAdapterLayers"].values()}
    assert adapters == set(numbered_regions("arm64").values())
    assert all(arn.endswith(":753240598075:layer:LambdaAdapterLayerArm64:30") for arn in adapters)
    env = props["Environment"]["Variables"]
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["PORT"] == env["AWS_LWA_PORT"] == "8000"  # never 8080: sam local uses it
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert props["Timeout"] == synth.stack.config.streaming_timeout_seconds
    assert props["MemorySize"] == synth.stack.config.streaming_memory_mb
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_functions_have_stable_logical_ids_for_sam_local(synth: Synthesized) -> None:
    functions = synth.resources("AWS::Lambda::Function")
    assert functions["StreamingFunction"]["Properties"]["Handler"] == "run.sh"
    assert functions["ApiFunction"]["Properties"]["Handler"] == "task_assistant.entry.api.handler"


def test_x86_64_override_switches_functions_layer_and_adapter(synthesize: Any) -> None:
    """`make synth ARCH=x86_64` (-c architecture=x86_64): every architecture-bound part follows."""
    x86 = synthesize("dev", architecture="x86_64")
    assert x86.one("AWS::Lambda::LayerVersion")["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    for fn in ("streaming", "api"):
        assert _function(x86, fn)["Properties"]["Architectures"] == ["x86_64"]
    adapters = _dump(x86.raw["Mappings"]["WebAdapterLayers"])
    assert "LambdaAdapterLayerX86:" in adapters and "Arm64" not in adapters


def test_api_function_uses_mangum_without_the_adapter(synth: Synthesized) -> None:
    props = _function(synth, "api")["Properties"]
    layer_id = next(iter(synth.resources("AWS::Lambda::LayerVersion")))
    assert props["Handler"] == "task_assistant.entry.api.handler"
    assert props["Layers"] == [{"Ref": layer_id}]
    assert not any(
        key.startswith(("AWS_LWA_", "AWS_LAMBDA_EXEC")) for key in props["Environment"]["Variables"]
    )
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_both_functions_share_one_code_asset_separate_from_the_layer(synth: Synthesized) -> None:
    streaming = _function(synth, "streaming")["Properties"]["Code"]
    api = _function(synth, "api")["Properties"]["Code"]
    layer = synth.one("AWS::Lambda::LayerVersion")["Properties"]["Content"]
    assert streaming == api
    assert streaming["S3Key"] != layer["S3Key"]


def test_code_asset_is_the_functions_directory_without_caches(synth: Synthesized) -> None:
    key = _function(synth, "streaming")["Properties"]["Code"]["S3Key"]
    asset = synth.outdir / f"asset.{key.removesuffix('.zip')}"
    names = {p.relative_to(asset).as_posix() for p in asset.rglob("*")}
    assert "run.sh" in names and "task_assistant/settings.py" in names
    # The page's static files travel with the code (they are not Python).
    assert {f"task_assistant/web/static/{f}" for f in ("index.html", "page.js", "page.css")} <= names
    assert (asset / "run.sh").stat().st_mode & 0o111, "run.sh must stay executable in the asset"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_reserved_concurrency_only_where_configured(dev: Synthesized, prod: Synthesized) -> None:
    assert "ReservedConcurrentExecutions" not in _function(dev, "streaming")["Properties"]
    assert _function(prod, "streaming")["Properties"]["ReservedConcurrentExecutions"] == 50
    assert _function(prod, "api")["Properties"]["ReservedConcurrentExecutions"] == 50


APP_VARIABLES = {
    "CHAT_TABLE_NAME",
    "TASKS_TABLE_NAME",
    "ATTACHMENTS_BUCKET",
    "JWT_ISSUER",
    "JWKS_URL",
    "JWT_CLIENT_IDS",
    "OPENAI_MODEL",
    "CORS_ORIGINS",
    "MAX_BODY_BYTES",
    "RATE_LIMIT_PER_MINUTE",
    "REQUEST_DEADLINE_SECONDS",
    "STREAM_DEADLINE_SECONDS",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "PAGE_URL",
    "PAGE_AUTH_DOMAIN",
    "CHATKIT_DOMAIN_KEY",
}


@pytest.mark.parametrize("fn", ["streaming", "api"])
def test_app_environment_names_settings_fields_and_points_at_stack_resources(
    synth: Synthesized, fn: str
) -> None:
    env = _env(synth, fn)
    assert set(env) >= APP_VARIABLES
    settings_fields = set(Settings.model_fields)
    own = {k for k in env if not k.startswith(("AWS_", "POWERTOOLS_")) and k != "PORT"}
    unknown = {k for k in own if k.lower() not in settings_fields}
    assert not unknown, f"environment variables no Settings field reads: {unknown}"
    stack = synth.stack
    assert env["CHAT_TABLE_NAME"] == {"Ref": synth.logical_id(stack.data.chat_table)}
    assert env["TASKS_TABLE_NAME"] == {"Ref": synth.logical_id(stack.data.tasks_table)}
    assert env["ATTACHMENTS_BUCKET"] == {"Ref": synth.logical_id(stack.data.bucket)}
    assert env["JWT_CLIENT_IDS"] == {"Ref": synth.logical_id(stack.auth.client)}
    pool = {"Ref": synth.logical_id(stack.auth.user_pool)}
    issuer_parts = env["JWT_ISSUER"]["Fn::Join"][1]
    assert issuer_parts[0] == "https://cognito-idp." and pool in issuer_parts
    assert env["JWKS_URL"]["Fn::Join"][1][-1] == "/.well-known/jwks.json"
    assert env["CORS_ORIGINS"] == ",".join(stack.config.cors_origins)
    assert env["PAGE_URL"] == _page_url(synth)
    assert env["PAGE_AUTH_DOMAIN"] == stack.resolve(stack.auth.domain.base_url())
    assert {"Ref": synth.logical_id(stack.auth.domain)} in env["PAGE_AUTH_DOMAIN"]["Fn::Join"][1]
    assert env["CHATKIT_DOMAIN_KEY"] == stack.config.chatkit_domain_key
    assert env["ENVIRONMENT"] == synth.env
    assert env["POWERTOOLS_SERVICE_NAME"] == "task-assistant"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "TaskAssistant"
    assert env["POWERTOOLS_LOG_LEVEL"] == stack.config.log_level
    assert ("ITEM_TTL_DAYS" in env) == (stack.config.item_ttl_days is not None)
    # Deadlines stay under each door's limit: API Gateway's 29 s (the API function's timeout) for
    # requests, the streaming function's timeout for streams.
    api_timeout = _function(synth, "api")["Properties"]["Timeout"]
    streaming_timeout = _function(synth, "streaming")["Properties"]["Timeout"]
    assert 0 < int(env["REQUEST_DEADLINE_SECONDS"]) < min(api_timeout, 29)
    assert int(env["REQUEST_DEADLINE_SECONDS"]) < int(env["STREAM_DEADLINE_SECONDS"]) < streaming_timeout


def test_function_logs_are_json_with_per_environment_retention(dev: Synthesized, prod: Synthesized) -> None:
    for synth, days in ((dev, 7), (prod, 365)):
        for fn in ("streaming", "api"):
            logging = _function(synth, fn)["Properties"]["LoggingConfig"]
            assert logging["LogFormat"] == "JSON"
            group = synth.raw["Resources"][logging["LogGroup"]["Ref"]]
            assert group["Properties"]["RetentionInDays"] == days
    assert {g["DeletionPolicy"] for g in prod.resources("AWS::Logs::LogGroup").values()} == {"Retain"}


# --- least privilege ---------------------------------------------------------------------------


def _resources_of(statement: dict[str, Any]) -> list[Any]:
    res = statement["Resource"]
    return res if isinstance(res, list) else [res]


def test_no_function_may_scan_or_use_wildcard_actions(synth: Synthesized) -> None:
    for fn in ("streaming", "api"):
        for statement in _policy_statements(synth, fn):
            for action in _actions(statement):
                assert action != "dynamodb:Scan" and not action.endswith(":*"), (fn, action)
        role = synth.raw["Resources"][synth.logical_id(getattr(synth.stack.functions, fn).role)]
        assert "ManagedPolicyArns" not in role["Properties"], "no AWS managed policies on function roles"


def test_table_grants_name_each_index(synth: Synthesized) -> None:
    chat_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.data.chat_table), "Arn"]}
    statements = [s for s in _policy_statements(synth, "streaming") if s.get("Sid") == "ChatTableData"]
    assert len(statements) == 1
    resources = _resources_of(statements[0])
    assert chat_arn in resources
    index_suffixes = sorted(r["Fn::Join"][1][1] for r in resources if isinstance(r, dict) and "Fn::Join" in r)
    assert index_suffixes == ["/index/by_created", "/index/by_user"]


def test_streaming_grants_tables_bucket_objects_and_secret_read(synth: Synthesized) -> None:
    statements = {s.get("Sid"): s for s in _policy_statements(synth, "streaming")}
    assert {"ChatTableData", "TasksTableData", "AttachmentObjects", "AttachmentBucket", "ModelKey"} <= set(
        statements
    )
    assert _actions(statements["ModelKey"]) == ["secretsmanager:GetSecretValue"]
    secret_id = next(iter(synth.resources("AWS::SecretsManager::Secret")))
    assert _resources_of(statements["ModelKey"]) == [{"Ref": secret_id}]
    assert set(_actions(statements["AttachmentObjects"])) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }


def test_api_function_gets_tables_only(synth: Synthesized) -> None:
    statements = _policy_statements(synth, "api")
    sids = {s.get("Sid") for s in statements}
    assert {"ChatTableData", "TasksTableData"} <= sids
    all_actions = {a for s in statements for a in _actions(s)}
    assert not {a for a in all_actions if a.startswith(("s3:", "secretsmanager:"))}


# --- API --------------------------------------------------------------------------------------


def _methods(s: Synthesized) -> dict[str, dict[str, Any]]:
    """``"<path> <verb>"`` -> method properties, resolving resource paths from the template."""
    resources = s.resources("AWS::ApiGateway::Resource")

    def path_of(ref: Any) -> str:
        if isinstance(ref, dict) and "Fn::GetAtt" in ref:
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        f"{path_of(m['Properties']['ResourceId']) or '/'} {m['Properties']['HttpMethod']}": m["Properties"]
        for m in s.resources("AWS::ApiGateway::Method").values()
    }


def _gateway_responses(s: Synthesized) -> dict[str, dict[str, str]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseParameters"]
        for r in s.resources("AWS::ApiGateway::GatewayResponse").values()
    }


def test_gateway_errors_carry_cors_headers_for_one_origin(prod: Synthesized) -> None:
    """API Gateway's own 401/403/429/5XX never reach the app: a browser must still be able to read them."""
    responses = _gateway_responses(prod)
    # The defaults; UNAUTHORIZED, ACCESS_DENIED, THROTTLED etc. inherit them (none is overridden).
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for params in responses.values():
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            f"'{prod.stack.config.cors_origins[0]}'"
        )
        assert params["gatewayresponse.header.Vary"] == "'Origin'"
        assert params["gatewayresponse.header.Access-Control-Expose-Headers"] == (
            f"'{','.join(cors.EXPOSE_HEADERS)}'"
        )


def test_gateway_errors_carry_a_wildcard_origin_for_several_origins(dev: Synthesized) -> None:
    """A gateway response cannot echo a matching Origin; with several origins it answers ``*`` (no user
    data in these answers, and the API never uses cookies, so no credentialed request needs them)."""
    assert len(dev.stack.config.cors_origins) > 1
    responses = _gateway_responses(dev)
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for params in responses.values():
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        assert "gatewayresponse.header.Access-Control-Allow-Credentials" not in params
        assert "gatewayresponse.header.Vary" not in params


def test_gateway_error_headers_per_number_of_origins() -> None:
    from task_assistant_cdk.api import gateway_error_cors_headers

    assert gateway_error_cors_headers([]) == {}  # no browser origin configured: no CORS at all
    one = gateway_error_cors_headers(["https://a.example"])
    assert one["Access-Control-Allow-Origin"] == "https://a.example"
    several = gateway_error_cors_headers(["https://a.example", "https://b.example"])
    assert several["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in several


def test_routes_and_cognito_authorizer(synth: Synthesized) -> None:
    methods = _methods(synth)
    authorizer_id = next(iter(synth.resources("AWS::ApiGateway::Authorizer")))
    authorizer = synth.raw["Resources"][authorizer_id]["Properties"]
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["ProviderARNs"] == [
        {"Fn::GetAtt": [synth.logical_id(synth.stack.auth.user_pool), "Arn"]}
    ]
    assert {"/chatkit POST", "/chatkit/feedback GET", "/tasks ANY", "/tasks/{proxy+} ANY"} <= set(methods)
    page_routes = {f"{path} GET" for path in PUBLIC_PATHS}
    assert page_routes <= set(methods)
    for route, method in methods.items():
        if method["HttpMethod"] == "OPTIONS":
            assert method["Integration"]["Type"] == "MOCK", route  # CORS preflight answers only
            continue
        if route in page_routes:  # the page loads before sign-in; exactly these, GET only
            assert method["AuthorizationType"] == "NONE", route
            continue
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
        assert method["AuthorizerId"] == {"Ref": authorizer_id}, route
        # With scopes the authorizer takes access tokens (and refuses ID tokens): docs/http-api.md.
        assert method["AuthorizationScopes"] == list(GATEWAY_SCOPES), route


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_page_is_served_by_the_api_function(synth: Synthesized, path: str) -> None:
    integration = _methods(synth)[f"{path} GET"]["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert {"Ref": _alias_id(synth, "api")} in integration["Uri"]["Fn::Join"][1]


def test_page_url_is_made_from_the_api_id_and_stage_name(synth: Synthesized) -> None:
    """Not from ``rest_api.url``: that references the stage, which depends on every method, and the
    functions (which the methods need) carry the page URL: a cycle CloudFormation refuses."""
    rest_api = {"Ref": synth.logical_id(synth.stack.api.rest_api)}
    assert _page_url(synth) == {
        "Fn::Join": [
            "",
            [
                "https://",
                rest_api,
                ".execute-api.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                f"/{synth.stack.config.name}/",
            ],
        ]
    }
    assert synth.raw["Outputs"]["PageUrl"]["Value"] == _page_url(synth)


def test_chatkit_route_streams_from_the_streaming_function(synth: Synthesized) -> None:
    integration = _methods(synth)["/chatkit POST"]["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["ResponseTransferMode"] == "STREAM"
    assert integration["TimeoutInMillis"] == synth.stack.config.streaming_timeout_seconds * 1000
    uri = _dump(integration["Uri"])
    assert "/response-streaming-invocations" in uri
    assert {"Ref": _alias_id(synth, "streaming")} in integration["Uri"]["Fn::Join"][1]


@pytest.mark.parametrize("route", ["/tasks ANY", "/tasks/{proxy+} ANY", "/chatkit/feedback GET"])
def test_tasks_routes_go_to_the_api_function(synth: Synthesized, route: str) -> None:
    integration = _methods(synth)[route]["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration.get("ResponseTransferMode", "BUFFERED") == "BUFFERED"
    uri = _dump(integration["Uri"])
    assert {"Ref": _alias_id(synth, "api")} in integration["Uri"]["Fn::Join"][1] and "/invocations" in uri


def test_stage_throttling_access_logs_and_tracing(synth: Synthesized) -> None:
    config = synth.stack.config
    stage = synth.one("AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == config.name
    assert stage["TracingEnabled"] is True
    # The log group's ARN without the trailing ":*" (feature flag logGroupDestinationArnWithoutWildcard).
    destination = stage["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
    assert destination[-2:] == [":log-group:", {"Ref": synth.logical_id(synth.stack.api.access_logs)}]
    assert "$context.requestId" in stage["AccessLogSetting"]["Format"]
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == config.api_throttle_rate
    assert settings["ThrottlingBurstLimit"] == config.api_throttle_burst
    assert settings["LoggingLevel"] == "OFF"  # opt-in: api_execution_logging
    assert settings["DataTraceEnabled"] is False  # would log user messages


def test_function_url_streams_without_iam_auth(synth: Synthesized) -> None:
    url = synth.one("AWS::Lambda::Url")["Properties"]
    assert url["AuthType"] == "NONE"  # the app verifies the Cognito JWT itself
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    assert url["TargetFunctionArn"] == {
        "Fn::GetAtt": [synth.logical_id(synth.stack.functions.streaming), "Arn"]
    }
    assert url["Qualifier"] == "live"  # the alias: published versions, what SnapStart restores
    # CORS is answered by the app from CORS_ORIGINS; a URL CORS block would duplicate headers.
    assert "Cors" not in url
    assert _env(synth, "streaming")["CORS_ORIGINS"] == ",".join(synth.stack.config.cors_origins)


def test_nothing_account_wide_is_created(synth: Synthesized) -> None:
    """No AWS::ApiGateway::Account (one CloudWatch role setting per account and region) and no role for it."""
    assert not synth.resources("AWS::ApiGateway::Account")
    policies = _dump(
        [r["Properties"].get("ManagedPolicyArns") for r in synth.resources("AWS::IAM::Role").values()]
    )
    assert "AmazonAPIGatewayPushToCloudWatchLogs" not in policies


def test_execution_logging_is_opt_in_per_environment(synthesize: Any) -> None:
    logged = synthesize("dev", api_execution_logging="ERROR")
    (settings,) = logged.one("AWS::ApiGateway::Stage")["Properties"]["MethodSettings"]
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    assert not logged.resources("AWS::ApiGateway::Account")  # the account's role is used, never created


def test_invocations_reach_the_live_alias_of_a_published_version(synth: Synthesized) -> None:
    """Function URL and API Gateway invoke the ``live`` alias; only it is granted to them."""
    for name in ("streaming", "api"):
        alias = synth.raw["Resources"][_alias_id(synth, name)]["Properties"]
        function = {"Ref": synth.logical_id(getattr(synth.stack.functions, name))}
        assert alias["Name"] == "live" and alias["FunctionName"] == function
        version_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
        version = synth.raw["Resources"][version_id]
        assert version["Type"] == "AWS::Lambda::Version" and version["Properties"]["FunctionName"] == function
        assert version["DeletionPolicy"] == "Delete"  # a replaced version (and its snapshot) goes
    targets = {
        _dump(p["Properties"]["FunctionName"]) for p in synth.resources("AWS::Lambda::Permission").values()
    }
    assert targets == {_dump({"Ref": _alias_id(synth, name)}) for name in ("streaming", "api")}


def test_snapstart_in_prod_with_the_adapters_hook_paths(dev: Synthesized, prod: Synthesized) -> None:
    for name in ("streaming", "api"):
        assert _function(prod, name)["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert "SnapStart" not in _function(dev, name)["Properties"]
    hooks = {
        "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH": BEFORE_CHECKPOINT_PATH,
        "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": AFTER_RESTORE_PATH,
    }
    assert {k: v for k, v in _env(prod, "streaming").items() if k in hooks} == hooks
    assert not set(hooks) & set(_env(dev, "streaming"))
    # SnapStart allows no more than 512 MB of ephemeral storage (the default).
    assert _function(prod, "streaming")["Properties"].get("EphemeralStorage", {"Size": 512})["Size"] <= 512


def test_rest_api_preflight_is_answered_by_api_gateway_for_configured_origins(synth: Synthesized) -> None:
    origins = synth.stack.config.cors_origins
    for route, method in _methods(synth).items():
        if method["HttpMethod"] != "OPTIONS":
            continue
        params = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        origin = params["method.response.header.Access-Control-Allow-Origin"]
        assert origin.strip("'") == origins[0], route
        # The app's own list (task_assistant.web.cors), web component headers included.
        allowed = params["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        assert allowed == list(cors.ALLOW_HEADERS), route
        assert "ChatKit-Frame-Instance-Id" in allowed, route
        assert params["method.response.header.Access-Control-Max-Age"] == f"'{cors.MAX_AGE_SECONDS}'", route
        # The first origin is the static header; the others are echoed when they ask.
        response = method["Integration"]["IntegrationResponses"][0]
        template = response.get("ResponseTemplates", {}).get("application/json", "")
        assert all(f'$origin == "{other}"' in template for other in origins[1:]), route


# --- observability ----------------------------------------------------------------------------


def test_alarms_cover_errors_throttles_duration_5xx_and_dynamodb(synth: Synthesized) -> None:
    prefix = synth.stack.config.prefix
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
    }
    expected = {
        f"{prefix}-{name}"
        for name in (
            "streaming-errors",
            "streaming-throttles",
            "streaming-duration-p99",
            "api-errors",
            "api-throttles",
            "api-duration-p99",
            "api-5xx",
            "chat-table-throttles",
            "tasks-table-throttles",
        )
    }
    assert set(alarms) == expected
    topic = {"Ref": next(iter(synth.resources("AWS::SNS::Topic")))}
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [topic], name
    p99 = alarms[f"{prefix}-streaming-duration-p99"]
    assert p99["ExtendedStatistic"] == "p99"
    assert p99["Threshold"] == synth.stack.config.streaming_timeout_seconds * 1000 * 0.8
    throttles = alarms[f"{prefix}-chat-table-throttles"]
    assert "ThrottledRequests" in _dump(throttles["Metrics"])


def test_alarm_email_subscription_only_when_configured(dev: Synthesized, prod: Synthesized) -> None:
    assert not dev.resources("AWS::SNS::Subscription")
    prod.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    prod.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({"Effect": "Deny"})])}},
    )


def test_dashboard(synth: Synthesized) -> None:
    body = _dump(synth.one("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    for needle in ("Invocations", "Duration", "ThrottledRequests", "5XXError"):
        assert needle in body


# --- outputs ----------------------------------------------------------------------------------


def test_outputs_a_frontend_and_the_cli_need(synth: Synthesized) -> None:
    outputs = synth.raw["Outputs"]
    for name in (
        "PageUrl",
        "FunctionUrl",
        "ApiUrl",
        "UserPoolId",
        "AppClientId",
        "Region",
        "ChatTableName",
        "TasksTableName",
        "AttachmentsBucketName",
        "OpenAIKeySecretArn",
    ):
        assert name in outputs, name
    assert outputs["FunctionUrl"]["Value"] == {
        "Fn::GetAtt": [next(iter(synth.resources("AWS::Lambda::Url"))), "FunctionUrl"]
    }
    assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}
