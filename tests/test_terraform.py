"""The Terraform, checked without the AWS provider: parsed with python-hcl2, wiring asserted.

`terraform validate` needs the provider, which these machines cannot download; checkov runs in
`make tf-check`. What is checked here is what a review would check by hand: names, the handler
path, the order SES needs, that IAM grants exactly what the code calls, and that every variable
is declared, described and used.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import hcl2
import pytest
import yaml

from handler.routes import load_routes
from tests.conftest import ROOT

TERRAFORM = ROOT / "terraform"
MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
MODULE_DIRS = [TERRAFORM, *MODULES, TERRAFORM / "examples" / "complete"]
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and ${} wrappers; strip them for comparisons."""
    if isinstance(value, str):
        if value.startswith('"') and value.endswith('"'):
            return value[1:-1]
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
    if isinstance(value, list):
        return [unquote(item) for item in value]
    return value


@cache
def parsed(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)


def blocks(folder: Path, kind: str) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Every ``kind`` block in the .tf files of ``folder``: (labels, body)."""
    for path in sorted(folder.glob("*.tf")):
        for entry in parsed(path).get(kind, []):
            yield from _labelled(entry, [])


def _labelled(entry: dict[str, Any], labels: list[str]) -> Iterator[tuple[list[str], dict]]:
    if entry.get("__is_block__"):
        yield labels, entry
        return
    for label, body in entry.items():
        if isinstance(body, dict):
            yield from _labelled(body, [*labels, unquote(label)])


def resource(folder: Path, kind: str, name: str) -> dict[str, Any]:
    found = [body for labels, body in blocks(folder, "resource") if labels == [kind, name]]
    assert len(found) == 1, f"{kind}.{name} in {folder}"
    return found[0]


def variables(folder: Path) -> dict[str, dict[str, Any]]:
    return {labels[0]: body for labels, body in blocks(folder, "variable")}


def modules_called(folder: Path) -> dict[str, dict[str, Any]]:
    return {labels[0]: body for labels, body in blocks(folder, "module")}


def text_of(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.tf")))


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_file_parses(path: Path):
    """Every .tf file is valid HCL."""
    assert isinstance(parsed(path), dict)


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_versions_are_pinned_to_the_supported_range(folder: Path):
    """Terraform >= 1.6 and the AWS provider >= 5 everywhere."""
    [(_, block)] = list(blocks(folder, "terraform"))
    assert unquote(block["required_version"]) == ">= 1.6"
    [providers] = block["required_providers"]
    assert {k: unquote(v) for k, v in providers["aws"].items()} == {
        "source": "hashicorp/aws",
        "version": ">= 5.0",
    }


@pytest.mark.parametrize("folder", [TERRAFORM, *MODULES], ids=lambda p: p.name)
def test_variables_are_declared_described_typed_and_used(folder: Path):
    """var.x is declared; every declaration has a description and a type and is used."""
    declared = variables(folder)
    used = set(re.findall(r"\bvar\.([a-z0-9_]+)", text_of(folder)))
    assert used - set(declared) == set()
    assert set(declared) - used == set()
    for name, body in declared.items():
        assert unquote(body.get("description", "")).strip(), name
        assert "type" in body, name


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_outputs_are_described(folder: Path):
    """Every output says what it is."""
    for labels, body in blocks(folder, "output"):
        assert unquote(body.get("description", "")).strip(), labels


@pytest.mark.parametrize("folder", [TERRAFORM, TERRAFORM / "examples" / "complete"])
def test_module_calls_pass_declared_inputs(folder: Path):
    """Each module call passes only inputs the module declares, and every required one."""
    for name, call in modules_called(folder).items():
        source = (folder / unquote(call["source"])).resolve()
        declared = variables(source)
        passed = {key for key in call if key not in {"source", "__is_block__", "__comments__"}}
        assert passed - set(declared) == set(), name
        required = {key for key, body in declared.items() if "default" not in body}
        assert required - passed == set(), name


def test_modules_never_reference_each_other():
    """Only the root wires modules; a module stands alone."""
    for folder in MODULES:
        assert "module." not in text_of(folder).replace("path.module", "")


def test_function_runs_the_packaged_handler():
    """python3.12 on arm64, handler path that imports, zip deployed by its hash."""
    function = resource(TERRAFORM / "modules" / "function", "aws_lambda_function", "this")
    assert unquote(function["runtime"]) == "python3.12"
    assert unquote(function["architectures"]) == ["arm64"]
    handler = unquote(function["handler"])
    module_name, _, attribute = handler.rpartition(".")
    assert handler == "handler.lambda_function.lambda_handler"
    assert callable(getattr(importlib.import_module(module_name), attribute))
    assert unquote(function["source_code_hash"]) == "filebase64sha256(var.package_file)"
    assert unquote(function["filename"]) == "var.package_file"


def test_environment_is_what_the_handler_reads():
    """The function's environment names exactly variables that lambda_function.py reads."""
    source = (ROOT / "handler" / "lambda_function.py").read_text(encoding="utf-8")
    read = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    function = resource(TERRAFORM / "modules" / "function", "aws_lambda_function", "this")
    [environment] = function["environment"]
    set_by_terraform = set(environment["variables"])
    assert set_by_terraform <= read
    # ROUTES_FILE is left to its default: the routes.yaml packaged beside handler/.
    assert read - set_by_terraform == {"ROUTES_FILE"}


def test_log_group_exists_before_the_function_under_its_name():
    """Lambda would create /aws/lambda/<name> without retention if it came first."""
    folder = TERRAFORM / "modules" / "function"
    function = resource(folder, "aws_lambda_function", "this")
    group = resource(folder, "aws_cloudwatch_log_group", "this")
    assert "${aws_cloudwatch_log_group.this}" in function["depends_on"]
    assert unquote(group["name"]) == "/aws/lambda/${var.name}"
    assert unquote(function["function_name"]) == "var.name"
    assert unquote(group["retention_in_days"]) == "var.log_retention_days"


def test_async_failures_go_to_the_queue_after_retries():
    """Retries and maximum age are set; what still fails is sent to the SQS queue."""
    folder = TERRAFORM / "modules" / "function"
    config = resource(folder, "aws_lambda_function_event_invoke_config", "this")
    assert unquote(config["maximum_retry_attempts"]) == "var.max_retry_attempts"
    [destination] = config["destination_config"]
    [on_failure] = destination["on_failure"]
    assert unquote(on_failure["destination"]) == "aws_sqs_queue.failed.arn"
    queue = resource(folder, "aws_sqs_queue", "failed")
    assert queue["sqs_managed_sse_enabled"] is True


def test_ses_domains_are_the_routes_domains():
    """SES receives for exactly the domains routes.yaml routes (read from the same file)."""
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert "yamldecode(file(local.routes_file)).routes" in local["domains"]
    assert unquote(local["routes_file"]) == (
        'coalesce(var.routes_file, "${path.module}/../routes.yaml")'
    )
    # The same domains, computed as the Terraform expression does and as the handler does.
    routes = yaml.safe_load((TERRAFORM / ".." / "routes.yaml").read_text())["routes"]
    terraform_domains = list(dict.fromkeys(r["domain"].lower().removesuffix(".") for r in routes))
    assert tuple(terraform_domains) == load_routes(ROOT / "routes.yaml").domains
    receiving = modules_called(TERRAFORM)["mail_receiving"]
    assert unquote(receiving["domains"]) == "local.domains"
    rule = resource(TERRAFORM / "modules" / "mail_receiving", "aws_ses_receipt_rule", "this")
    assert unquote(rule["recipients"]) == "var.domains"


def test_receipt_rule_stores_then_invokes():
    """TLS required, scanning on, S3 action first, then the function invoked as an Event."""
    rule = resource(TERRAFORM / "modules" / "mail_receiving", "aws_ses_receipt_rule", "this")
    assert unquote(rule["tls_policy"]) == "Require"
    assert rule["scan_enabled"] is True
    [s3_action] = rule["s3_action"]
    [lambda_action] = rule["lambda_action"]
    assert (s3_action["position"], lambda_action["position"]) == (1, 2)
    assert unquote(lambda_action["invocation_type"]) == "Event"
    assert unquote(s3_action["object_key_prefix"]) == "var.key_prefix"


def test_bucket_policy_and_invoke_permission_exist_before_the_rule():
    """The rule consumes outputs that wait for the bucket policy and the SES permission."""
    storage = {
        labels[0]: body for labels, body in blocks(MODULES_BY_NAME["mail_storage"], "output")
    }
    assert storage["bucket_name"]["depends_on"] == ["${aws_s3_bucket_policy.this}"]
    function = {labels[0]: body for labels, body in blocks(MODULES_BY_NAME["function"], "output")}
    assert function["function_arn"]["depends_on"] == ["${aws_lambda_permission.ses}"]
    receiving = modules_called(TERRAFORM)["mail_receiving"]
    assert unquote(receiving["bucket_name"]) == "module.mail_storage.bucket_name"
    assert unquote(receiving["function_arn"]) == "module.function.function_arn"
    rule = resource(MODULES_BY_NAME["mail_receiving"], "aws_ses_receipt_rule", "this")
    [s3_action] = rule["s3_action"]
    [lambda_action] = rule["lambda_action"]
    assert unquote(s3_action["bucket_name"]) == "var.bucket_name"
    assert unquote(lambda_action["function_arn"]) == "var.function_arn"


def test_the_rule_arn_is_built_from_the_names_the_rule_gets():
    """Bucket policy and invoke permission name the rule by an ARN built from its names."""
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert unquote(local["receipt_rule_arn"]).endswith(
        ":receipt-rule-set/${local.rule_set_name}:receipt-rule/${local.rule_name}"
    )
    calls = modules_called(TERRAFORM)
    assert unquote(calls["mail_receiving"]["rule_set_name"]) == "local.rule_set_name"
    assert unquote(calls["mail_receiving"]["rule_name"]) == "local.rule_name"
    for name in ("mail_storage", "function"):
        assert unquote(calls[name]["receipt_rule_arn"]) == "local.receipt_rule_arn"
        assert unquote(calls[name]["account_id"]) == "local.account_id"
    permission = resource(MODULES_BY_NAME["function"], "aws_lambda_permission", "ses")
    assert unquote(permission["principal"]) == "ses.amazonaws.com"
    assert unquote(permission["source_arn"]) == "var.receipt_rule_arn"
    assert unquote(permission["source_account"]) == "var.account_id"


def test_ses_may_write_only_under_the_prefix_for_this_rule():
    """SES's PutObject is conditioned on aws:SourceAccount and aws:SourceArn; TLS is enforced."""
    [(_, document)] = [
        (labels, body)
        for labels, body in blocks(MODULES_BY_NAME["mail_storage"], "data")
        if labels == ["aws_iam_policy_document", "this"]
    ]
    statements = {unquote(s["sid"]): s for s in document["statement"]}
    ses = statements["AllowSESPuts"]
    assert unquote(ses["actions"]) == ["s3:PutObject"]
    assert unquote(ses["resources"]) == ["${aws_s3_bucket.this.arn}/${var.key_prefix}*"]
    conditions = {unquote(c["variable"]): unquote(c["values"]) for c in ses["condition"]}
    assert conditions == {
        "aws:SourceAccount": ["var.account_id"],
        "aws:SourceArn": ["var.receipt_rule_arn"],
    }
    deny = statements["DenyInsecureTransport"]
    assert unquote(deny["effect"]) == "Deny"
    [condition] = deny["condition"]
    assert unquote(condition["variable"]) == "aws:SecureTransport"


def test_mail_bucket_is_private_encrypted_versioned_and_expiring():
    """Public access blocked, SSE, versioning, expiry after the retention days, no force_destroy."""
    folder = MODULES_BY_NAME["mail_storage"]
    block = resource(folder, "aws_s3_bucket_public_access_block", "this")
    assert all(block[key] is True for key in ("block_public_acls", "block_public_policy"))
    assert all(block[key] is True for key in ("ignore_public_acls", "restrict_public_buckets"))
    resource(folder, "aws_s3_bucket_server_side_encryption_configuration", "this")
    versioning = resource(folder, "aws_s3_bucket_versioning", "this")
    assert unquote(versioning["versioning_configuration"][0]["status"]) == "Enabled"
    lifecycle = resource(folder, "aws_s3_bucket_lifecycle_configuration", "this")
    [expiry] = [r for r in lifecycle["rule"] if unquote(r["id"]) == "expire-mail"]
    assert unquote(expiry["expiration"][0]["days"]) == "var.retention_days"
    assert variables(TERRAFORM)["force_destroy_mail_bucket"]["default"] is False


def boto3_actions() -> set[str]:
    """IAM actions for the boto3 calls in handler/: every client operation the code invokes."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "handler").glob("*.py"))
    services = set(re.findall(r'boto3\.client\(\s*"([a-z0-9-]+)"', code))
    session = botocore.session.get_session()
    actions = set()
    for service in services:
        model = session.get_service_model(service)
        prefix = model.metadata.get("signingName", service)
        for operation in model.operation_names:
            snake = botocore.xform_name(operation)
            if re.search(rf"\.{snake}\(", code):
                actions.add(f"{prefix}:{operation}")
    return actions


def test_iam_grants_exactly_what_the_code_calls():
    """The role's actions are the code's boto3 calls plus what Lambda does for the function."""
    [(_, document)] = [
        (labels, body)
        for labels, body in blocks(MODULES_BY_NAME["function"], "data")
        if labels == ["aws_iam_policy_document", "this"]
    ]
    granted = {action for s in document["statement"] for action in unquote(s["actions"])}
    on_behalf = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
    assert boto3_actions() == {"s3:GetObject", "secretsmanager:GetSecretValue"}
    assert granted == boto3_actions() | on_behalf
    resources = {unquote(s["sid"]): unquote(s["resources"]) for s in document["statement"]}
    assert resources["ReadMail"] == ["${var.mail_bucket_arn}/${var.mail_key_prefix}*"]
    assert resources["ReadGitHubToken"] == ["var.token_secret_arn"]
    assert all(r != "*" for rs in resources.values() for r in rs)


def test_the_token_never_passes_through_terraform():
    """The secret is created empty: no secret version, no variable that could hold the token."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in TF_FILES)
    assert "aws_secretsmanager_secret_version" not in text
    assert not [name for name in variables(TERRAFORM) if "token" in name or "secret" in name]


def test_every_resource_is_tagged_through_default_tags():
    """The provider's default_tags carry var.tags onto everything."""
    [(labels, provider)] = list(blocks(TERRAFORM, "provider"))
    assert labels == ["aws"]
    [default_tags] = provider["default_tags"]
    assert "var.tags" in default_tags["tags"]


def test_every_checkov_skip_says_why():
    """A skipped check carries its reason where it is made."""
    skips = re.findall(
        r"#checkov:skip=([A-Z0-9_]+)(:?)(.*)", "\n".join(map(Path.read_text, TF_FILES))
    )
    assert skips
    for check, colon, reason in skips:
        assert colon == ":", check
        assert len(reason.strip()) >= 30, check


def test_alarms_watch_errors_and_the_failure_queue():
    """Function errors and a non-empty failure queue raise an alarm; e-mail is optional."""
    folder = MODULES_BY_NAME["alarms"]
    errors = resource(folder, "aws_cloudwatch_metric_alarm", "errors")
    assert (unquote(errors["namespace"]), unquote(errors["metric_name"])) == (
        "AWS/Lambda",
        "Errors",
    )
    depth = resource(folder, "aws_cloudwatch_metric_alarm", "failed_mail")
    assert unquote(depth["metric_name"]) == "ApproximateNumberOfMessagesVisible"
    subscription = resource(folder, "aws_sns_topic_subscription", "email")
    assert unquote(subscription["count"]) == 'var.alarm_email == "" ? 0 : 1'


MODULES_BY_NAME = {folder.name: folder for folder in MODULES}


def test_module_readmes_list_the_current_inputs_and_outputs():
    """The Inputs/Outputs tables are regenerated from the .tf files (`make tf-docs`)."""
    spec = importlib.util.spec_from_file_location("tf_docs", ROOT / "scripts" / "tf_docs.py")
    assert spec is not None
    assert spec.loader is not None
    tf_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tf_docs)
    assert tf_docs.main(["--check"]) == 0
