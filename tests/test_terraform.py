"""The Terraform, checked without the AWS provider: parsed with python-hcl2, wiring asserted.

`terraform validate` needs the provider, which these machines cannot download; checkov runs in
`make tf-check`. What is checked here is what a review would check by hand: names, the handler
path, the order SES needs, that IAM grants exactly what the code calls, and that every variable
is declared, described and used.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import botocore.session
import hcl2
import pytest
import yaml

from handler import SERVICE
from handler.aws.attachment_store import S3Files
from handler.aws.claims import SENT_KEY_PREFIX, DynamoClaims
from handler.aws.decision_log import HASH_KEY, DynamoDecisionLog
from handler.aws.deliveries import DynamoDeliveries
from handler.aws.notices import SesNotifier
from handler.aws.participants import DynamoAuthors, DynamoParticipants, DynamoSuppressions
from handler.aws.postings import DynamoPostings
from handler.aws.rate_limit import DynamoPostLimit
from handler.aws.reach import DynamoSentMail
from handler.aws.threads import DynamoThreads
from handler.deadline import Deadline
from handler.github.posts import PostedComment
from handler.github.rate_limit import Limits
from handler.inbound.plan import Decision
from handler.outbound.notices import Notice
from handler.outbound.participants import Authorship, Participant
from handler.outbound.reach import SentComment
from handler.reasons import Reason
from handler.routing import GitHubApp, Target, TokenSecret, load_routes, parse_routes
from handler.service import metrics
from handler.service.decision_log import NO_FACTS, Where, record_of
from tests.conftest import ROOT, TESTS
from tests.dynamo import CLAIMS_TABLE, DECISION_TABLE, create_decision_table

TERRAFORM = ROOT / "terraform"
MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
MODULE_DIRS = [TERRAFORM, *MODULES, TERRAFORM / "examples" / "complete"]
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))


def load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


package = load_script("package")


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


def blocks(
    folder: Path, kind: str, files: list[Path] | None = None
) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Every ``kind`` block in the .tf files of ``folder`` (or in ``files``): (labels, body)."""
    for path in files if files is not None else sorted(folder.glob("*.tf")):
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
    """Terraform 1.9 (cross-variable validations) up to the next major, AWS provider 5 from
    5.80 but never 6: a fresh init cannot take a new major version."""
    [(_, block)] = list(blocks(folder, "terraform"))
    assert unquote(block["required_version"]) == ">= 1.9, < 2.0"
    if folder.name == "teardown_guard":  # terraform_data only: no provider
        assert "required_providers" not in block
        return
    [providers] = block["required_providers"]
    assert {k: unquote(v) for k, v in providers["aws"].items()} == {
        "source": "hashicorp/aws",
        "version": ">= 5.80, < 6.0",
    }


def test_the_example_commits_a_lock_within_the_bounds():
    """examples/complete's .terraform.lock.hcl is committed (.gitignore admits it: a fresh
    clone has it) and pins one AWS provider release within the bounds, with the registry's
    hashes of every platform's package (zh:)."""
    lock = TERRAFORM / "examples" / "complete" / ".terraform.lock.hcl"
    assert lock.is_file()
    [(labels, provider)] = list(blocks(lock.parent, "provider", files=[lock]))
    assert labels == ["registry.terraform.io/hashicorp/aws"]
    major, minor, _ = (int(part) for part in unquote(provider["version"]).split("."))
    assert major == 5
    assert minor >= 80
    assert unquote(provider["constraints"]) == ">= 5.80.0, < 6.0.0"
    hashes = unquote(provider["hashes"])
    assert len([h for h in hashes if h.startswith("zh:")]) >= 10
    assert any(h.startswith("h1:") for h in hashes)


def test_the_example_sets_every_input_of_the_module():
    """examples/complete is the reference for operators: every input is set there, explicitly."""
    example = modules_called(TERRAFORM / "examples" / "complete")["ticket_router"]
    assert set(variables(TERRAFORM)) <= set(example)


def test_no_provider_is_configured_inside_the_module():
    """The caller configures the provider (region, credentials, default_tags) and may pass its
    own, or use count, for_each and depends_on on the module: terraform/ and its modules
    configure none; examples/complete configures it and passes it in."""
    for folder in [TERRAFORM, *MODULES]:
        assert not list(blocks(folder, "provider")), folder
    [(labels, provider)] = list(blocks(TERRAFORM / "examples" / "complete", "provider"))
    assert labels == ["aws"]
    assert unquote(provider["region"]) == "var.region"
    [default_tags] = provider["default_tags"]
    assert unquote(unquote(default_tags["tags"])["Application"]) == "ticket-router"
    example = modules_called(TERRAFORM / "examples" / "complete")["ticket_router"]
    assert unquote(example["providers"]) == {"aws": "aws"}


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


@pytest.mark.parametrize("folder", [TERRAFORM, *MODULES], ids=lambda p: p.name)
def test_variables_read_description_type_default(folder: Path):
    """Each declaration opens with description, then type, then default when it has one."""
    for name, body in variables(folder).items():
        keys = [key for key in body if key in {"description", "type", "default"}]
        assert keys == ["description", "type", "default"][: len(keys)], name
        assert list(body)[: len(keys)] == keys, name


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
        meta = {"source", "count", "for_each", "depends_on", "providers"}
        passed = {key for key in call if key not in meta | {"__is_block__", "__comments__"}}
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


def environment_read(entry: str) -> set[str]:
    """The variables a Lambda entry point reads, itself or through what all entry points share
    (handler/aws/lambda_runtime.py: LOG_LEVEL) and what those writing to GitHub share
    (handler/logins.py: the token, the API, the rate limit)."""
    path = ROOT / (entry.replace(".", "/") + ".py")
    paths = [path, ROOT / "handler" / "aws" / "lambda_runtime.py"]
    if "handler.logins" in path.read_text(encoding="utf-8"):
        paths.append(ROOT / "handler" / "logins.py")
    source = "\n".join(path.read_text(encoding="utf-8") for path in paths)
    return set(re.findall(r'os\.environ(?:\.get\(|\[)\s*"([A-Z_]+)"', source))


# The attachments bucket and its URL (terraform/modules/attachments).
ATTACHMENTS_ENVIRONMENT = {"ATTACHMENTS_BUCKET", "ATTACHMENTS_URL"}


def test_environment_is_what_the_handler_reads():
    """The function's environment names exactly the variables lambda_function.py reads."""
    read = environment_read("handler.lambda_function")
    function = resource(TERRAFORM / "modules" / "function", "aws_lambda_function", "this")
    [environment] = function["environment"]
    assert read == set(environment["variables"])
    assert set(environment["variables"]) == {
        "ROUTES_FILE",
        "MAIL_BUCKET",
        "MAIL_PREFIX",
        "GITHUB_TOKEN_SECRET_ARN",
        "GITHUB_API_URL",
        "LOG_LEVEL",
        "IDEMPOTENCY_TABLE",
        "IDEMPOTENCY_TTL_SECONDS",
        "GITHUB_POSTS_PER_MINUTE",
        "GITHUB_POSTS_PER_HOUR",
        "SES_CONFIGURATION_SET",
        "DECISION_TABLE",
        "DECISION_RETENTION_DAYS",
        *ATTACHMENTS_ENVIRONMENT,
    }


def test_the_rate_limit_figures_are_githubs_by_default():
    """80 a minute and 500 an hour (GitHub's content-creation limits), passed as strings."""
    function = resource(TERRAFORM / "modules" / "function", "aws_lambda_function", "this")
    [environment] = function["environment"]
    values = {name: unquote(value) for name, value in environment["variables"].items()}
    assert values["GITHUB_POSTS_PER_MINUTE"] == "tostring(var.github_posts_per_minute)"
    assert values["GITHUB_POSTS_PER_HOUR"] == "tostring(var.github_posts_per_hour)"
    root = variables(TERRAFORM)
    assert (
        root["github_posts_per_minute"]["default"],
        root["github_posts_per_hour"]["default"],
    ) == (
        80,
        500,
    )
    call = modules_called(TERRAFORM)["function"]
    for name in ("github_posts_per_minute", "github_posts_per_hour"):
        assert unquote(call[name]) == f"var.{name}"


def test_routes_file_is_the_one_packaged_beside_handler():
    """ROUTES_FILE names the routes.json the zip holds at its root, where Lambda unpacks it."""
    function = resource(TERRAFORM / "modules" / "function", "aws_lambda_function", "this")
    [environment] = function["environment"]
    assert package.ROUTES_IN_ZIP == "routes.json"
    assert unquote(environment["variables"]["ROUTES_FILE"]) == f"/var/task/{package.ROUTES_IN_ZIP}"


def test_function_refuses_a_package_built_from_another_routes_file():
    """The zip's recorded routes hash must equal the hash of the file Terraform reads."""
    function = resource(TERRAFORM / "modules" / "function", "aws_lambda_function", "this")
    [lifecycle] = function["lifecycle"]
    [precondition] = lifecycle["precondition"]
    assert unquote(precondition["condition"]) == (
        f'try(trimspace(file("${{var.package_file}}{package.ROUTES_HASH_SUFFIX}")), "")'
        " == var.routes_sha256"
    )
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert unquote(local["routes_sha256"]) == "filesha256(local.routes_file)"
    assert unquote(modules_called(TERRAFORM)["function"]["routes_sha256"]) == (
        "local.routes_sha256"
    )


def test_log_group_exists_before_the_function_under_its_name():
    """Lambda would create /aws/lambda/<name> without retention if it came first."""
    folder = TERRAFORM / "modules" / "function"
    function = resource(folder, "aws_lambda_function", "this")
    group = resource(folder, "aws_cloudwatch_log_group", "this")
    assert "${aws_cloudwatch_log_group.this}" in function["depends_on"]
    assert unquote(group["name"]) == "/aws/lambda/${var.name}"
    assert unquote(function["function_name"]) == "var.name"
    assert unquote(group["retention_in_days"]) == "var.log_retention_days"


def test_the_function_reads_the_mail_queue_in_batches_reporting_failed_mails():
    """An SQS event source on the mail queue: batches of 10, ReportBatchItemFailures, at most
    mail_max_concurrency (default 2) at a time; nothing but the retention sweep's schedule
    invokes the function asynchronously."""
    folder = MODULES_BY_NAME["function"]
    mapping = resource(folder, "aws_lambda_event_source_mapping", "mail")
    assert unquote(mapping["event_source_arn"]) == "var.mail_queue_arn"
    assert unquote(mapping["function_name"]) == "aws_lambda_function.this.arn"
    assert mapping["batch_size"] == 10
    assert unquote(mapping["function_response_types"]) == ["ReportBatchItemFailures"]
    [scaling] = mapping["scaling_config"]
    assert unquote(scaling["maximum_concurrency"]) == "var.maximum_concurrency"
    call = modules_called(TERRAFORM)["function"]
    assert unquote(call["mail_queue_arn"]) == "module.mail_queue.queue_arn"
    assert unquote(call["maximum_concurrency"]) == "var.mail_max_concurrency"
    assert variables(TERRAFORM)["mail_max_concurrency"]["default"] == 2
    kinds = [labels[0] for labels, _ in blocks(folder, "resource")]
    assert "aws_lambda_function_event_invoke_config" not in kinds
    assert "aws_sqs_queue" not in kinds
    # The one other caller: the daily retention sweep's rule (test below).
    assert kinds.count("aws_lambda_permission") == 1
    permission = resource(folder, "aws_lambda_permission", "sweep")
    assert unquote(permission["principal"]) == "events.amazonaws.com"
    assert unquote(permission["source_arn"]) == "aws_cloudwatch_event_rule.sweep[0].arn"


def test_a_reservation_never_throttles_the_mapping():
    """reserved_concurrency is -1 or at least the mapping's maximum concurrency (a precondition:
    a throttled batch returns to the queue with a receive spent)."""
    mapping = resource(MODULES_BY_NAME["function"], "aws_lambda_event_source_mapping", "mail")
    [lifecycle] = mapping["lifecycle"]
    [precondition] = lifecycle["precondition"]
    assert unquote(precondition["condition"]) == (
        "var.reserved_concurrency == -1 || var.reserved_concurrency >= var.maximum_concurrency"
    )
    root = variables(TERRAFORM)
    assert root["reserved_concurrency"]["default"] >= root["mail_max_concurrency"]["default"]


MAIL_QUEUE = TERRAFORM / "modules" / "mail_queue"


def test_the_mail_queue_outwaits_six_function_timeouts_then_dead_letters():
    """Visibility 6 x the function's timeout, 4 days' retention, dead-lettered after
    mail_max_receive_count (30) receives into a queue that keeps mail 14 days."""
    [(_, local)] = list(blocks(MAIL_QUEUE, "locals"))
    assert unquote(local["visibility_timeout_seconds"]) == "6 * var.function_timeout"
    queue = resource(MAIL_QUEUE, "aws_sqs_queue", "this")
    assert unquote(queue["name"]) == "var.name"
    assert unquote(queue["visibility_timeout_seconds"]) == "local.visibility_timeout_seconds"
    assert queue["message_retention_seconds"] == 4 * 86400
    assert unquote(queue["redrive_policy"]) == (
        "jsonencode({deadLetterTargetArn = aws_sqs_queue.dead_letter.arn,"
        " maxReceiveCount = var.max_receive_count})"
    )
    dead_letter = resource(MAIL_QUEUE, "aws_sqs_queue", "dead_letter")
    assert unquote(dead_letter["name"]) == "${var.name}-dead"
    assert dead_letter["message_retention_seconds"] == 14 * 86400
    for body in (queue, dead_letter):
        assert body["sqs_managed_sse_enabled"] is True
        assert "kms_master_key_id" not in body
    allow = resource(MAIL_QUEUE, "aws_sqs_queue_redrive_allow_policy", "dead_letter")
    assert unquote(allow["redrive_allow_policy"]) == (
        'jsonencode({redrivePermission = "byQueue", sourceQueueArns = [aws_sqs_queue.this.arn]})'
    )
    assert variables(MAIL_QUEUE)["max_receive_count"]["default"] == 30
    assert variables(TERRAFORM)["mail_max_receive_count"]["default"] == 30
    call = modules_called(TERRAFORM)["mail_queue"]
    assert unquote(call["name"]) == "${var.name}-mail"
    assert unquote(call["function_timeout"]) == "var.lambda_timeout"
    assert unquote(call["max_receive_count"]) == "var.mail_max_receive_count"
    assert unquote(modules_called(TERRAFORM)["function"]["timeout"]) == "var.lambda_timeout"


def test_only_ses_for_these_rules_may_publish_mail_to_the_topic():
    """The topic policy admits SES for this account's receipt rules; the key admits SES of this
    account; the topic is encrypted with that rotated key."""
    assert policy(MAIL_QUEUE, "topic") == {
        "SESPublishesMail": (["sns:Publish"], ["aws_sns_topic.this.arn"])
    }
    publish = statement(MAIL_QUEUE, "topic", "SESPublishesMail")
    assert unquote(publish["principals"][0]["identifiers"]) == ["ses.amazonaws.com"]
    assert conditions(publish) == {
        "aws:SourceAccount": ("StringEquals", ["local.account_id"]),
        "aws:SourceArn": ("ArnEquals", "var.receipt_rule_arns"),
    }
    topic_policy = resource(MAIL_QUEUE, "aws_sns_topic_policy", "this")
    assert unquote(topic_policy["policy"]) == "data.aws_iam_policy_document.topic.json"
    topic = resource(MAIL_QUEUE, "aws_sns_topic", "this")
    assert unquote(topic["kms_master_key_id"]) == "aws_kms_key.this.arn"
    key = resource(MAIL_QUEUE, "aws_kms_key", "this")
    assert key["enable_key_rotation"] is True
    assert unquote(key["policy"]) == "data.aws_iam_policy_document.key.json"
    ses = statement(MAIL_QUEUE, "key", "SESPublishesMail")
    assert unquote(ses["principals"][0]["identifiers"]) == ["ses.amazonaws.com"]
    assert sorted(unquote(ses["actions"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert conditions(ses) == {"aws:SourceAccount": ("StringEquals", ["local.account_id"])}


def test_only_the_mail_topic_may_send_to_the_mail_queue_raw():
    """The queue policy admits SNS for exactly that topic; the subscription delivers raw, once
    the queue admits the topic."""
    assert policy(MAIL_QUEUE, "queue") == {
        "MailTopicDelivers": (["sqs:SendMessage"], ["aws_sqs_queue.this.arn"])
    }
    delivers = statement(MAIL_QUEUE, "queue", "MailTopicDelivers")
    assert unquote(delivers["principals"][0]["identifiers"]) == ["sns.amazonaws.com"]
    assert conditions(delivers) == {"aws:SourceArn": ("ArnEquals", ["aws_sns_topic.this.arn"])}
    queue_policy = resource(MAIL_QUEUE, "aws_sqs_queue_policy", "this")
    assert unquote(queue_policy["queue_url"]) == "aws_sqs_queue.this.id"
    subscription = resource(MAIL_QUEUE, "aws_sns_topic_subscription", "this")
    assert (unquote(subscription["protocol"]), unquote(subscription["endpoint"])) == (
        "sqs",
        "aws_sqs_queue.this.arn",
    )
    assert subscription["raw_message_delivery"] is True
    assert subscription["depends_on"] == ["${aws_sqs_queue_policy.this}"]


def test_ses_domains_are_the_routes_domains():
    """SES receives for exactly the domains routes.yaml routes (read from the same file)."""
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert unquote(local["domains"]) == (
        'distinct([for route in local.routes : trimsuffix(lower(trimspace(route.domain)), ".")])'
    )
    assert unquote(local["routes_file"]) == (
        'coalesce(var.routes_file, "${path.module}/../routes.yaml")'
    )
    # The same domains, computed as the Terraform expression does and as the handler does.
    routes = yaml.safe_load((TERRAFORM / ".." / "routes.yaml").read_text())["routes"]
    terraform_domains = list(
        dict.fromkeys(r["domain"].strip().lower().removesuffix(".") for r in routes)
    )
    assert tuple(terraform_domains) == load_routes(ROOT / "routes.yaml").domains
    assert terraform_domains == ["anomalies.unseen.ac.uk", "issues.example.com"]
    receiving = modules_called(TERRAFORM)["mail_receiving"]
    assert unquote(receiving["domains"]) == "local.domains"
    assert unquote(receiving["rules"]) == "local.rules"
    folder = TERRAFORM / "modules" / "mail_receiving"
    rule = resource(folder, "aws_ses_receipt_rule", "this")
    assert unquote(rule["recipients"]) == "var.rules[0].recipients"
    more = resource(folder, "aws_ses_receipt_rule", "more")
    assert unquote(more["recipients"]) == "var.rules[count.index + 1].recipients"
    # The module refuses rules whose recipients are not exactly the domains.
    [covers] = [
        v
        for v in variables(folder)["rules"]["validation"]
        if "var.domains" in unquote(v["condition"])
    ]
    assert unquote(covers["condition"]) == (
        "jsonencode(sort(flatten(var.rules[*].recipients))) == jsonencode(sort(var.domains))"
    )


def test_the_domains_are_split_into_rules_of_100():
    """SES takes 100 recipients per rule: the sorted domains in chunks of 100, the first rule
    keeping the one name of earlier versions, the others numbered from 2."""
    assert root_local("rules") == (
        "[for index, recipients in chunklist(sort(local.domains), 100) :"
        ' {name = index == 0 ? "${var.name}-deliver" : "${var.name}-deliver-${index + 1}",'
        " recipients = recipients}]"
    )
    rules = variables(MODULES_BY_NAME["mail_receiving"])["rules"]
    assert unquote(rules["validation"][0]["condition"]) == (
        "length(var.rules) >= 1 && alltrue([for rule in var.rules :"
        " length(rule.recipients) >= 1 && length(rule.recipients) <= 100])"
    )


@pytest.mark.parametrize("name", ["this", "more"])
def test_receipt_rule_stores_and_notifies_the_mail_topic(name: str):
    """Every rule: TLS required, scanning on, one action: S3, which notifies the mail topic; no
    Lambda action."""
    rule = resource(TERRAFORM / "modules" / "mail_receiving", "aws_ses_receipt_rule", name)
    assert unquote(rule["tls_policy"]) == "Require"
    assert rule["scan_enabled"] is True
    assert rule["enabled"] is True
    assert unquote(rule["rule_set_name"]) == "local.rule_set_name"
    [s3_action] = rule["s3_action"]
    assert s3_action["position"] == 1
    assert unquote(s3_action["bucket_name"]) == "var.bucket_name"
    assert unquote(s3_action["object_key_prefix"]) == "var.key_prefix"
    assert unquote(s3_action["topic_arn"]) == "var.topic_arn"
    assert [key for key in rule if key.endswith("_action")] == ["s3_action"]


def test_the_rules_go_where_the_operator_says_in_the_set_chosen():
    """The first rule goes after receipt_rule_after (null: first), the others right after it;
    the set is existing_rule_set_name when given (then not created), else ours."""
    folder = MODULES_BY_NAME["mail_receiving"]
    assert unquote(resource(folder, "aws_ses_receipt_rule", "this")["after"]) == "var.rule_after"
    more = resource(folder, "aws_ses_receipt_rule", "more")
    assert unquote(more["count"]) == "length(var.rules) - 1"
    assert unquote(more["after"]) == "aws_ses_receipt_rule.this.name"
    rule_set = resource(folder, "aws_ses_receipt_rule_set", "this")
    assert unquote(rule_set["count"]) == "var.create_rule_set ? 1 : 0"
    [(_, local)] = list(blocks(folder, "locals"))
    assert unquote(local["rule_set_name"]) == (
        "var.create_rule_set ? aws_ses_receipt_rule_set.this[0].rule_set_name : var.rule_set_name"
    )
    assert root_local("rule_set_name") == (
        "coalesce(var.existing_rule_set_name, var.rule_set_name, var.name)"
    )
    call = modules_called(TERRAFORM)["mail_receiving"]
    assert unquote(call["create_rule_set"]) == "var.existing_rule_set_name == null"
    assert unquote(call["rule_after"]) == "var.receipt_rule_after"
    assert variables(TERRAFORM)["existing_rule_set_name"]["default"] is None
    assert variables(TERRAFORM)["receipt_rule_after"]["default"] is None


def test_bucket_policy_topic_policy_and_subscription_exist_before_the_rule():
    """The rule consumes outputs that wait for what SES checks when the rule is created or
    changed (the bucket policy, the topic policy) and for the queue's subscription, without
    which SNS would drop the first notifications."""
    storage = {
        labels[0]: body for labels, body in blocks(MODULES_BY_NAME["mail_storage"], "output")
    }
    # SES's test write then goes through the key as every mail will.
    assert storage["bucket_name"]["depends_on"] == [
        "${aws_s3_bucket_policy.this}",
        "${aws_s3_bucket_server_side_encryption_configuration.this}",
    ]
    queue = {labels[0]: body for labels, body in blocks(MAIL_QUEUE, "output")}
    assert unquote(queue["topic_arn"]["value"]) == "aws_sns_topic.this.arn"
    assert queue["topic_arn"]["depends_on"] == [
        "${aws_sns_topic_policy.this}",
        "${aws_sns_topic_subscription.this}",
    ]
    receiving = modules_called(TERRAFORM)["mail_receiving"]
    assert unquote(receiving["bucket_name"]) == "module.mail_storage.bucket_name"
    assert unquote(receiving["topic_arn"]) == "module.mail_queue.topic_arn"
    rule = resource(MODULES_BY_NAME["mail_receiving"], "aws_ses_receipt_rule", "this")
    [s3_action] = rule["s3_action"]
    assert unquote(s3_action["bucket_name"]) == "var.bucket_name"


def test_the_rule_arns_are_built_from_the_names_the_rules_get():
    """Bucket policy and topic policy name every rule by an ARN built from its names, in the set
    the rules go into (ours or the existing one)."""
    assert root_local("receipt_rule_arns") == (
        "[for rule in local.rules :"
        ' "arn:${data.aws_partition.current.partition}:ses:${local.region}:${local.account_id}'
        ':receipt-rule-set/${local.rule_set_name}:receipt-rule/${rule.name}"]'
    )
    calls = modules_called(TERRAFORM)
    assert unquote(calls["mail_receiving"]["rule_set_name"]) == "local.rule_set_name"
    assert unquote(calls["mail_receiving"]["rules"]) == "local.rules"
    for name in ("mail_storage", "mail_queue"):
        assert unquote(calls[name]["receipt_rule_arns"]) == "local.receipt_rule_arns"
    assert unquote(calls["mail_storage"]["account_id"]) == "local.account_id"
    folder = MODULES_BY_NAME["mail_receiving"]
    assert unquote(resource(folder, "aws_ses_receipt_rule", "this")["name"]) == (
        "var.rules[0].name"
    )
    assert unquote(resource(folder, "aws_ses_receipt_rule", "more")["name"]) == (
        "var.rules[count.index + 1].name"
    )


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
        "aws:SourceArn": "var.receipt_rule_arns",
    }
    deny = statements["DenyInsecureTransport"]
    assert unquote(deny["effect"]) == "Deny"
    [condition] = deny["condition"]
    assert unquote(condition["variable"]) == "aws:SecureTransport"


def test_mail_bucket_is_private_encrypted_versioned_and_expiring():
    """Public access blocked, SSE-KMS with the mail key and a bucket key, versioning, expiry
    after the retention days, no force_destroy."""
    folder = MODULES_BY_NAME["mail_storage"]
    block = resource(folder, "aws_s3_bucket_public_access_block", "this")
    assert all(block[key] is True for key in ("block_public_acls", "block_public_policy"))
    assert all(block[key] is True for key in ("ignore_public_acls", "restrict_public_buckets"))
    [rule] = resource(folder, "aws_s3_bucket_server_side_encryption_configuration", "this")["rule"]
    [default] = rule["apply_server_side_encryption_by_default"]
    assert unquote(default["sse_algorithm"]) == "aws:kms"
    assert unquote(default["kms_master_key_id"]) == "local.kms_key_arn"
    assert rule["bucket_key_enabled"] is True
    versioning = resource(folder, "aws_s3_bucket_versioning", "this")
    assert unquote(versioning["versioning_configuration"][0]["status"]) == "Enabled"
    lifecycle = resource(folder, "aws_s3_bucket_lifecycle_configuration", "this")
    [expiry] = [r for r in lifecycle["rule"] if unquote(r["id"]) == "expire-mail"]
    assert unquote(expiry["expiration"][0]["days"]) == "var.retention_days"
    assert variables(TERRAFORM)["force_destroy_mail_bucket"]["default"] is False


MAIL_STORAGE = TERRAFORM / "modules" / "mail_storage"

# What a key administrator must not hold: a use of the key on data, or a grant giving one.
KEY_USE = re.compile(r"kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant|\*)")


def test_the_created_mail_key_is_rotated_and_administered_without_use():
    """A rotated key with a 30-day deletion window, unless one is brought, destroyed after the
    bucket; the account's statement administers it but can neither encrypt nor decrypt nor
    grant."""
    key = resource(MAIL_STORAGE, "aws_kms_key", "this")
    assert unquote(key["count"]) == "local.create_key ? 1 : 0"
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    assert unquote(key["policy"]) == "data.aws_iam_policy_document.key[0].json"
    # The bucket depends on the key (the key not on the bucket), so destroy deletes the bucket
    # first, and mail that keeps the bucket alive keeps its key too.
    assert "depends_on" not in key
    bucket = resource(MAIL_STORAGE, "aws_s3_bucket", "this")
    assert bucket["depends_on"] == ["${aws_kms_key.this}"]
    [(_, local)] = list(blocks(MAIL_STORAGE, "locals"))
    assert unquote(local["create_key"]) == "var.kms_key_arn == null"
    [document] = [body for labels, body in blocks(MAIL_STORAGE, "data") if labels[1:] == ["key"]]
    assert unquote(document["source_policy_documents"]) == [
        "data.aws_iam_policy_document.key_use.json"
    ]
    [admin] = document["statement"]
    assert unquote(admin["sid"]) == "AccountAdministersTheKey"
    assert unquote(admin["principals"][0]["identifiers"]) == ["local.account_root"]
    actions = unquote(admin["actions"])
    assert actions == sorted(actions)
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DescribeKey"} <= set(actions)
    assert not [action for action in actions if KEY_USE.match(action)]


def test_the_mail_key_admits_ses_for_these_rules_and_the_readers_through_s3():
    """SES: a data key (and Decrypt, for multipart uploads) for this account's receipt rules;
    the readers: Decrypt, named by aws:PrincipalArn, through S3 only."""
    ses = statement(MAIL_STORAGE, "key_use", "SESStoresMail")
    assert unquote(ses["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert unquote(ses["principals"][0]["identifiers"]) == ["ses.amazonaws.com"]
    assert condition_list(ses) == [
        ("ArnEquals", "aws:SourceArn", "var.receipt_rule_arns"),
        ("StringEquals", "aws:SourceAccount", ["var.account_id"]),
    ]
    readers = statement(MAIL_STORAGE, "key_use", "ReadersDecryptMail")
    assert unquote(readers["actions"]) == ["kms:Decrypt"]
    assert unquote(readers["principals"][0]["identifiers"]) == ["local.account_root"]
    assert condition_list(readers) == [
        ("ArnEquals", "aws:PrincipalArn", "var.reader_arns"),
        ("StringEquals", "kms:ViaService", ["local.s3_endpoint"]),
    ]
    [(_, local)] = list(blocks(MAIL_STORAGE, "locals"))
    assert unquote(local["s3_endpoint"]) == "s3.${var.region}.amazonaws.com"


def test_the_readers_are_the_functions_role_and_mail_readers():
    """The root names the function's role by the name the function module gives it, plus the
    operators of mail_readers; the replies functions never read the bucket."""
    storage = modules_called(TERRAFORM)["mail_storage"]
    assert unquote(storage["reader_arns"]) == (
        'concat(["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:role/'
        '${var.name}"], var.mail_readers)'
    )
    assert unquote(modules_called(TERRAFORM)["function"]["name"]) == "var.name"
    assert unquote(resource(MODULES_BY_NAME["function"], "aws_iam_role", "this")["name"]) == (
        "var.name"
    )
    assert unquote(storage["kms_key_arn"]) == "var.mail_kms_key_arn"
    assert variables(TERRAFORM)["mail_readers"]["default"] == []
    assert "ticket-router replay" in variables(TERRAFORM)["mail_readers"]["description"]
    for name, entry in REPLIES_FUNCTIONS.items():
        calls = boto3_calls(handler_code(entry.rpartition(".")[0]))
        assert not [call for call in calls if call[0] in ("s3", "kms")], name


def test_mail_bucket_access_is_logged_to_the_log_bucket():
    """Server access logs of the mail bucket go under <bucket>/ of the log bucket (created
    unless one is named), which S3's log delivery may write for the mail bucket only."""
    logging = resource(MAIL_STORAGE, "aws_s3_bucket_logging", "this")
    assert unquote(logging["target_bucket"]) == "local.log_bucket_name"
    assert unquote(logging["target_prefix"]) == "${var.bucket_name}/"
    [(_, local)] = list(blocks(MAIL_STORAGE, "locals"))
    assert unquote(local["create_log_bucket"]) == "var.access_log_bucket_name == null"
    delivery = statement(MAIL_STORAGE, "logs", "S3DeliversAccessLogs")
    assert unquote(delivery["actions"]) == ["s3:PutObject"]
    assert unquote(delivery["resources"]) == ["${aws_s3_bucket.logs[0].arn}/${var.bucket_name}/*"]
    assert unquote(delivery["principals"][0]["identifiers"]) == ["logging.s3.amazonaws.com"]
    assert condition_list(delivery) == [
        ("ArnEquals", "aws:SourceArn", ["aws_s3_bucket.this.arn"]),
        ("StringEquals", "aws:SourceAccount", ["var.account_id"]),
    ]
    # Logged and under a customer-managed key: checkov's logging and KMS checks are not skipped.
    mail_bucket = (MAIL_STORAGE / "main.tf").read_text(encoding="utf-8")
    mail_bucket = mail_bucket.partition('resource "aws_s3_bucket" "this"')[2].partition("\n}")[0]
    assert re.findall(r"#checkov:skip=([A-Z0-9_]+)", mail_bucket) == ["CKV_AWS_144", "CKV2_AWS_62"]


# boto3 methods whose IAM action is not <service>:<Operation>; any other method maps to that.
IAM_ACTION_OF_METHOD = {
    ("s3", "head_object"): "s3:GetObject",
    ("s3", "get_object_attributes"): "s3:GetObjectAttributes",
    ("s3", "list_objects"): "s3:ListBucket",
    ("s3", "list_objects_v2"): "s3:ListBucket",
    ("s3", "head_bucket"): "s3:ListBucket",
    ("s3", "delete_objects"): "s3:DeleteObject",
    ("s3", "list_object_versions"): "s3:ListBucketVersions",
}


def handler_code(entry: str = "handler.lambda_function") -> str:
    """The source of every handler module a Lambda entry point imports, directly or not.

    The CLI's modules (cli.py, replay.py) run with the operator's credentials, not the role's.
    """
    assert (ROOT / (entry.replace(".", "/") + ".py")).exists(), entry
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / name.replace(".", "/") / "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("handler")
            ):
                todo.append(node.module)
                todo.extend(
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists()
                )
            elif isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names if a.name.startswith("handler."))
    if entry == "handler.lambda_function":
        assert {"handler.aws.store", "handler.service.claims"} <= seen
    assert "handler.cli" not in seen
    return "\n".join(
        (ROOT / (name.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        for name in sorted(seen)
        if (ROOT / (name.replace(".", "/") + ".py")).exists()
    )


def boto3_calls(code: str) -> set[tuple[str, str]]:
    """(client, method) for every operation of a boto3 client the code creates and calls."""
    # aws_client(...) and LazyClient(...) in the functions, boto3.client(...) in the CLI; a
    # session's .client(...) in libraries such as Powertools.
    services = set(re.findall(r'(?:\.client|\bLazyClient|\baws_client)\(\s*"([a-z0-9-]+)"', code))
    session = botocore.session.get_session()
    calls = set()
    for service in services:
        for operation in session.get_service_model(service).operation_names:
            method = botocore.xform_name(operation)
            if re.search(rf"\.{method}\(", code):
                calls.add((service, method))
    return calls


def iam_actions(calls: set[tuple[str, str]]) -> set[str]:
    session = botocore.session.get_session()
    actions = set()
    for service, method in calls:
        model = session.get_service_model(service)
        operation = {botocore.xform_name(name): name for name in model.operation_names}[method]
        default = f"{model.metadata.get('signingName', service)}:{operation}"
        actions.add(IAM_ACTION_OF_METHOD.get((service, method), default))
    return actions


# The idempotency utility handler/ hands a DynamoDB client to: its calls on that client are made
# with the function's role, so they belong in the policy as much as handler/'s own.
PERSISTENCE_LAYER = "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb"


def persistence_layer() -> Any:
    return importlib.import_module(PERSISTENCE_LAYER)


def persistence_layer_calls() -> set[tuple[str, str]]:
    """(client, method) for every call Powertools' DynamoDB persistence layer makes."""
    return boto3_calls(Path(persistence_layer().__file__).read_text(encoding="utf-8"))


def handler_claims_through_powertools() -> bool:
    return "DynamoDBPersistenceLayer" in handler_code()


def test_boto3_calls_are_found_in_the_code():
    """The scan sees the client calls handler/ makes, and only aws_client, LazyClient and
    boto3.client create clients."""
    code = function_code()
    assert boto3_calls(code) == {
        ("s3", "get_object"),
        # A mail's files stored in the attachments bucket (handler/aws/attachment_store.py).
        ("s3", "head_object"),
        ("s3", "put_object"),
        ("secretsmanager", "get_secret_value"),
        ("ses", "send_raw_email"),
        # The notices' daily limit, the suppressions and the thread map (handler/aws/notices.py,
        # participants.py, threads.py), in the claims table.
        ("dynamodb", "get_item"),
        ("dynamodb", "put_item"),
        # The issue's mail participants recorded (handler/aws/participants.py), and a
        # credential's rate limit held (handler/aws/rate_limit.py), in the claims table.
        ("dynamodb", "update_item"),
        # A posting record GitHub's refusal settled (handler/aws/postings.py).
        ("dynamodb", "delete_item"),
        # A failed mail-queue message hidden until its retry (handler/aws/mail_queue.py).
        ("sqs", "change_message_visibility"),
    }
    # A resource or session client would escape the scan (and so the IAM check below): the
    # functions' one botocore session makes clients in aws_client alone.
    assert not re.search(r"boto3\.(resource|session|Session)\b", code)
    assert code.count(".create_client(") == 1


def test_the_scan_maps_new_calls_to_their_iam_actions():
    """A call added to the code yields the IAM action the role would then need."""
    code = 'table = boto3.client("dynamodb")\ntable.put_item(Item={})\n'
    code += 's3 = boto3.client("s3")\ns3.head_object()'
    assert boto3_calls(code) == {("dynamodb", "put_item"), ("s3", "head_object")}
    assert iam_actions(boto3_calls(code)) == {"dynamodb:PutItem", "s3:GetObject"}


def test_a_session_client_is_scanned_too():
    """A client made by a session's .client() (as libraries make them) is found as well."""
    code = 'session = boto3.session.Session()\nddb = session.client("dynamodb", config=c)\n'
    code += "ddb.get_item(Key={})\nddb.batch_get_item()\n"
    assert boto3_calls(code) == {("dynamodb", "get_item"), ("dynamodb", "batch_get_item")}


def test_the_persistence_layer_calls_are_found_in_powertools():
    """Claiming, recording and releasing a mail take exactly four DynamoDB item operations."""
    assert handler_claims_through_powertools()
    assert persistence_layer_calls() == {
        ("dynamodb", "get_item"),
        ("dynamodb", "put_item"),
        ("dynamodb", "update_item"),
        ("dynamodb", "delete_item"),
    }


def test_iam_grants_exactly_what_the_code_calls():
    """The role's actions are the code's boto3 calls plus what Lambda does for the function."""
    [(_, document)] = [
        (labels, body)
        for labels, body in blocks(MODULES_BY_NAME["function"], "data")
        if labels == ["aws_iam_policy_document", "this"]
    ]
    # Every action the role can hold: the fixed statements and the one routes may switch on.
    statements = [*document["statement"], *(body for _, body in notice_statements(document))]
    granted = {action for s in statements for action in unquote(s["actions"])}
    on_behalf = LAMBDA_ON_BEHALF
    if handler_claims_through_powertools():
        on_behalf |= iam_actions(persistence_layer_calls())
    code = function_code()
    called = iam_actions(boto3_calls(code)) | on_behalf
    if ("s3", "get_object") in boto3_calls(code):
        called |= S3_ON_BEHALF
    if '"Tagging"' in code:
        called |= TAGGING_ON_PUT
    assert called == granted
    resources = {unquote(s["sid"]): unquote(s["resources"]) for s in document["statement"]}
    assert resources.pop("ReadGitHubToken") == READABLE_SECRETS
    assert resources["ReadMail"] == ["${var.mail_bucket_arn}/${var.mail_key_prefix}*"]
    assert resources["DecryptMail"] == ["var.mail_kms_key_arn"]
    assert all(r != "*" for rs in resources.values() for r in rs)


# What S3 authorizes besides s3:PutObject when a PutObject carries tags (the attachments'
# retention tag). https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-managing.html
TAGGING_ON_PUT = frozenset({"s3:PutObjectTagging"})

# What the function does with the attachments bucket: find a file stored already, store one.
# Listing and deleting files is `ticket-router attachments remove`'s, with the operator's
# credentials: the role is granted neither (S3 retention is the bucket's lifecycle).
FUNCTION_STORES = (S3Files.store, S3Files._exists)
OPERATOR_REMOVES = (S3Files.keys, S3Files.delete, S3Files._versions)


def function_code() -> str:
    """handler_code() as the mail function runs it: the attachments bucket's adapter (built when
    ATTACHMENTS_BUCKET is set) storing files, never listing or deleting them."""
    code = handler_code()
    for method in OPERATOR_REMOVES:
        code = code.replace(inspect.getsource(method), "")
    return "\n".join([code, *(inspect.getsource(method) for method in FUNCTION_STORES)])


def test_the_function_stores_attachments_and_removes_none():
    """StoreAttachments grants what storing a file calls (a HEAD, a tagged PUT) on the objects
    of the attachments bucket, only when there is one; nothing lists or deletes them."""
    [(for_each, content)] = [
        (for_each, content)
        for for_each, content in notice_statements(function_policy())
        if unquote(content["sid"]) == "StoreAttachments"
    ]
    assert for_each == 'var.attachments_bucket_arn == "" ? [] : [var.attachments_bucket_arn]'
    assert unquote(content["resources"]) == ["${statement.value}/*"]
    assert "condition" not in content
    assert "effect" not in content
    stores = "\n".join(inspect.getsource(method) for method in FUNCTION_STORES)
    assert boto3_calls('aws_client("s3")\n' + stores) == {
        ("s3", "head_object"),
        ("s3", "put_object"),
    }
    assert unquote(content["actions"]) == sorted(
        iam_actions(boto3_calls('aws_client("s3")\n' + stores)) | TAGGING_ON_PUT
    )
    removes = "\n".join(inspect.getsource(method) for method in OPERATOR_REMOVES)
    assert "delete_objects" in removes
    assert "list_object_versions" in removes
    call = modules_called(TERRAFORM)["function"]
    assert {name: unquote(call[name]) for name in call if "attachments" in name} == {
        "attachments_bucket_name": 'join("", module.attachments[*].bucket_name)',
        "attachments_bucket_arn": 'join("", module.attachments[*].bucket_arn)',
        "attachments_url": 'join("", module.attachments[*].url)',
    }
    attachments = modules_called(TERRAFORM)["attachments"]
    assert unquote(attachments["count"]) == "local.attachments_s3 ? 1 : 0"
    assert unquote(attachments["retention_days"]) == "local.attachments_retention_days"
    assert unquote(call["retention_sweep"]) == "local.attachments_sweep"


ATTACHMENTS = TERRAFORM / "modules" / "attachments"


def test_the_attachments_bucket_keeps_nothing_removed_and_serves_through_cloudfront_only():
    """The module holds a private bucket without versioning (a removed file leaves nothing),
    the distribution and its policies, and nothing else: no website, no public policy, no
    object lock, no replication."""
    kinds = sorted(f"{labels[0]}.{labels[1]}" for labels, _ in blocks(ATTACHMENTS, "resource"))
    assert kinds == [
        "aws_cloudfront_cache_policy.this",
        "aws_cloudfront_distribution.this",
        "aws_cloudfront_origin_access_control.this",
        "aws_cloudfront_response_headers_policy.this",
        "aws_s3_bucket.this",
        "aws_s3_bucket_lifecycle_configuration.this",
        "aws_s3_bucket_ownership_controls.this",
        "aws_s3_bucket_policy.this",
        "aws_s3_bucket_public_access_block.this",
        "aws_s3_bucket_server_side_encryption_configuration.this",
    ]
    assert policy(ATTACHMENTS, "this") == {
        "DenyInsecureTransport": (
            ["s3:*"],
            ["aws_s3_bucket.this.arn", "${aws_s3_bucket.this.arn}/*"],
        ),
        "CloudFrontReadsFiles": (["s3:GetObject"], ["${aws_s3_bucket.this.arn}/*"]),
    }
    reads = statement(ATTACHMENTS, "this", "CloudFrontReadsFiles")
    assert conditions(reads) == {
        "AWS:SourceArn": ("StringEquals", ["aws_cloudfront_distribution.this.arn"])
    }
    [behavior] = resource(ATTACHMENTS, "aws_cloudfront_distribution", "this")[
        "default_cache_behavior"
    ]
    assert unquote(behavior["viewer_protocol_policy"]) == "https-only"
    assert unquote(behavior["allowed_methods"]) == ["GET", "HEAD"]


# What Lambda does with the function's role: write its logs, and poll the mail queue for the
# event source mapping (receive, delete what succeeded, read the queue's attributes).
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
LAMBDA_ON_BEHALF = frozenset(
    {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
)


# What S3 does with the role's credentials when the function reads a mail: decrypt it with the
# bucket's key (SSE-KMS). https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
S3_ON_BEHALF = frozenset({"kms:Decrypt"})


def test_the_role_decrypts_mail_through_s3_only():
    """DecryptMail: kms:Decrypt on the mail key, only when S3 in the key's region asks; the root
    hands the function the key mail_storage encrypts with."""
    body = statement(MODULES_BY_NAME["function"], "this", "DecryptMail")
    assert unquote(body["actions"]) == ["kms:Decrypt"]
    assert condition_list(body) == [
        (
            "StringEquals",
            "kms:ViaService",
            ['s3.${split(":", var.mail_kms_key_arn)[3]}.amazonaws.com'],
        )
    ]
    call = modules_called(TERRAFORM)["function"]
    assert unquote(call["mail_kms_key_arn"]) == "module.mail_storage.kms_key_arn"


def test_the_role_reaches_the_mail_queue_only():
    """One statement holds every SQS action: the mapping's polling and, when the code calls it,
    ChangeMessageVisibility (a failed mail's backoff), on the mail queue and nothing else."""
    document = function_policy()
    statements = [*document["statement"], *(body for _, body in notice_statements(document))]
    [queue] = [s for s in statements if any(a.startswith("sqs:") for a in unquote(s["actions"]))]
    assert unquote(queue["sid"]) == "ReadMailQueue"
    assert unquote(queue["resources"]) == ["var.mail_queue_arn"]
    assert "condition" not in queue
    assert "effect" not in queue
    granted = set(unquote(queue["actions"]))
    called = {a for a in iam_actions(boto3_calls(handler_code())) if a.startswith("sqs:")}
    polled = {a for a in LAMBDA_ON_BEHALF if a.startswith("sqs:")}
    assert granted == polled | {"sqs:ChangeMessageVisibility"}
    # The code delays a failed mail on the queue it came from, and calls nothing else of SQS.
    assert called <= {"sqs:ChangeMessageVisibility"}


def notice_statements(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(for_each, content) of each dynamic statement of a policy document."""
    found = []
    for entry in document.get("dynamic", []):
        for label, body in entry.items():
            assert unquote(label) == "statement"
            [content] = body["content"]
            found.append((unquote(body["for_each"]), content))
    return found


def function_policy() -> dict[str, Any]:
    [document] = [
        body
        for labels, body in blocks(MODULES_BY_NAME["function"], "data")
        if labels == ["aws_iam_policy_document", "this"]
    ]
    return document


def notice_domains(routes_text: str) -> list[str]:
    """local.notice_domains, computed as the Terraform expression does (defaults applied)."""
    document = yaml.safe_load(routes_text)
    routes = [document.get("defaults", {}) | r for r in document["routes"]]
    return list(
        dict.fromkeys(
            r["domain"].strip().lower().removesuffix(".")
            for r in routes
            if r.get("notify", True) or r.get("confirm", False)
        )
    )


def test_sending_notices_is_granted_only_for_routes_that_ask():
    """ses:SendRawEmail is one conditional statement on the notifying routes' SES identities,
    from addresses of their domains; the notices' limit and the suppressions they read exist
    only with it."""
    found = {
        unquote(content["sid"]): (for_each, content)
        for for_each, content in notice_statements(function_policy())
        if "notice_identity_arns" in for_each
    }
    assert set(found) == {"NotifySenders", "LimitNotices", "ReadSuppressions"}
    for for_each, _ in found.values():
        assert for_each == (
            "length(var.notice_identity_arns) > 0 ? [var.notice_identity_arns] : []"
        )
    _, content = found["NotifySenders"]
    assert unquote(content["actions"]) == ["ses:SendRawEmail"]
    assert unquote(content["resources"]) == (
        "concat(values(statement.value), local.notice_configuration_set_arns)"
    )
    assert condition_list(content) == [
        (
            "StringLike",
            "ses:FromAddress",
            '[for domain in keys(statement.value) : "*@${domain}"]',
        )
    ]
    assert "effect" not in content
    assert "ses:SendRawEmail" not in {
        action for s in function_policy()["statement"] for action in unquote(s["actions"])
    }
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert unquote(local["notice_domains"]) == (
        "distinct([for route in local.routes :"
        ' trimsuffix(lower(trimspace(route.domain)), ".")'
        " if try(route.notify, true) || try(route.confirm, false)])"
    )
    function = modules_called(TERRAFORM)["function"]
    assert unquote(function["notice_identity_arns"]) == (
        "{for domain in local.notice_domains : domain => "
        '"arn:${data.aws_partition.current.partition}:ses:${local.region}:'
        '${local.account_id}:identity/${domain}"}'
    )
    variable = variables(MODULES_BY_NAME["function"])["notice_identity_arns"]
    assert unquote(variable["type"]) == "map(string)"
    assert variable["default"] == {}


def test_notices_go_through_the_replies_configuration_set():
    """The function names the replies' configuration set in SES_CONFIGURATION_SET and may send
    through it (its ARN beside the identities'); without replies by mail, none."""
    function = resource(MODULES_BY_NAME["function"], "aws_lambda_function", "this")
    [environment] = function["environment"]
    assert unquote(environment["variables"]["SES_CONFIGURATION_SET"]) == (
        "var.ses_configuration_set"
    )
    variable = variables(MODULES_BY_NAME["function"])["ses_configuration_set"]
    assert (unquote(variable["type"]), unquote(variable["default"])) == ("string", "")
    [(_, local)] = list(blocks(MODULES_BY_NAME["function"], "locals"))
    assert unquote(local["notice_configuration_set_arns"]) == (
        'var.ses_configuration_set == "" ? [] : distinct([for arn in'
        " values(var.notice_identity_arns) :"
        ' "${split(":identity/", arn)[0]}:configuration-set/${var.ses_configuration_set}"])'
    )
    call = modules_called(TERRAFORM)["function"]
    assert unquote(call["ses_configuration_set"]) == (
        'join("", module.replies[*].configuration_set_name)'
    )
    outputs = {labels[0]: body for labels, body in blocks(REPLIES, "output")}
    assert unquote(outputs["configuration_set_name"]["value"]) == (
        "aws_ses_configuration_set.this.name"
    )


def test_the_sample_routes_notify_by_default():
    """The repository's routes.yaml leaves notify at its default, on: the role may send from
    both of its domains."""
    assert notice_domains((ROOT / "routes.yaml").read_text(encoding="utf-8")) == [
        "anomalies.unseen.ac.uk",
        "issues.example.com",
    ]


def test_notifying_routes_name_exactly_their_domains():
    """Only the domains of routes that notify (unless notify: false) or confirm become sending
    identities."""
    routes = (
        "routes:\n"
        "  - {domain: Quiet.example.com, repo: o/a, allowed_senders: [a.org], notify: false}\n"
        "  - {domain: Notes.example.com., repo: o/b, allowed_senders: [a.org], notify: true}\n"
        "  - {domain: notes.example.com, prefix: x, repo: o/c, allowed_senders: [a.org],"
        " notify: false, confirm: true}\n"
        "  - {domain: off.example.com, repo: o/d, allowed_senders: [a.org], notify: false}\n"
        "  - {domain: default.example.com, repo: o/e, allowed_senders: [a.org]}\n"
    )
    assert notice_domains(routes) == ["notes.example.com", "default.example.com"]


# The secrets the role may read: the deployment's token and those routes.yaml names.
READABLE_SECRETS = "concat([var.token_secret_arn], var.route_secret_arns)"

# Where the ARNs of a secret given by name point (the root's partition, region and account).
ACCOUNT = ("aws", "eu-west-1", "123456789012")


def route_secret_arns(routes_text: str) -> list[str]:
    """local.route_secret_arns, computed as the Terraform expressions do, in ACCOUNT."""
    routes = yaml.safe_load(routes_text)["routes"]
    named = (
        (route.get("token_secret"), (route.get("github_app") or {}).get("private_key_secret"))
        for route in routes
    )
    secrets = {s.strip() for pair in named for s in pair if s and s.strip()}
    partition, region, account_id = ACCOUNT
    return sorted(
        {
            secret
            if secret.startswith("arn:")
            else f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{secret}-??????"
            for secret in secrets
        }
    )


def route_secret_arn_pattern() -> re.Pattern[str]:
    """The regex the function module validates route_secret_arns with, as Terraform reads it."""
    [validation] = variables(MODULES_BY_NAME["function"])["route_secret_arns"]["validation"]
    [literal] = re.findall(r'regex\("((?:[^"\\]|\\.)*)"', validation["condition"])
    return re.compile(json.loads(f'"{literal}"'))


KEY_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ticket-router/app-key-AbCdEf"
OTHER_ARN = "arn:aws:secretsmanager:eu-central-1:210987654321:secret:shared/docs-Zy9X8w"
SECRET_ROUTES = f"""\
routes:
  - {{domain: a.example.com, repo: o/a, allowed_senders: [a.org], token_secret: " web-token "}}
  - domain: b.example.com
    repo: o/b
    allowed_senders: [a.org]
    api_url: https://github.example.com/api/v3
    github_app: {{app_id: 123456, installation_id: 7890123, private_key_secret: "{KEY_ARN}"}}
  - domain: c.example.com
    repo: o/c
    allowed_senders: [a.org]
    github_app: {{client_id: Iv23liAbCdEf, installation_id: 1, private_key_secret: app/key}}
  - {{domain: d.example.com, repo: o/d, allowed_senders: [a.org], token_secret: web-token}}
  - {{domain: e.example.com, repo: o/e, allowed_senders: [a.org], token_secret: "{KEY_ARN}"}}
  - {{domain: f.example.com, repo: o/f, allowed_senders: [a.org]}}
  - {{domain: g.example.com, repo: o/g, allowed_senders: [a.org], token_secret: "{OTHER_ARN}"}}
"""


def test_route_secrets_are_read_from_the_routes_file():
    """The routes' token_secret and private_key_secret, named or by ARN, become the ARNs passed."""
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert unquote(local["route_secrets"]) == (
        "distinct(compact(flatten([for route in local.routes :"
        ' [try(trimspace(route.token_secret), ""),'
        ' try(trimspace(route.github_app.private_key_secret), "")]])))'
    )
    assert unquote(local["route_secret_arns"]) == (
        "sort(distinct([for secret in local.route_secrets :"
        ' startswith(secret, "arn:") ? secret :'
        ' "arn:${data.aws_partition.current.partition}:secretsmanager:${local.region}:'
        '${local.account_id}:secret:${secret}-??????"]))'
    )
    function = modules_called(TERRAFORM)["function"]
    assert unquote(function["route_secret_arns"]) == "local.route_secret_arns"
    assert unquote(function["token_secret_arn"]) == "module.token_secret.arn"
    assert variables(MODULES_BY_NAME["function"])["route_secret_arns"]["default"] == []


def test_route_secrets_become_exactly_their_arns():
    """Names get the suffix wildcard, ARNs stay as written, each once; routes without add none."""
    assert route_secret_arns(SECRET_ROUTES) == [
        "arn:aws:secretsmanager:eu-central-1:210987654321:secret:shared/docs-Zy9X8w",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/key-??????",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ticket-router/app-key-AbCdEf",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:web-token-??????",
    ]
    no_secret = "routes:\n  - {domain: a.example.com, repo: o/a, allowed_senders: [a.org]}\n"
    assert route_secret_arns(no_secret) == []


def test_terraform_grants_the_secrets_the_handler_reads():
    """The sample's secrets, as handler.routing reads them, are the ones Terraform grants."""
    read = set()
    for route in parse_routes(SECRET_ROUTES, "routes.yaml").routes:
        if isinstance(route.credential, TokenSecret):
            read.add(route.credential.secret_id)
        elif isinstance(route.credential, GitHubApp):
            read.add(route.credential.private_key_secret)
    partition, region, account_id = ACCOUNT
    prefix = f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:"
    granted = {
        arn.removeprefix(prefix).removesuffix("-??????") if arn.endswith("-??????") else arn
        for arn in route_secret_arns(SECRET_ROUTES)
    }
    assert granted == read == {"web-token", "app/key", KEY_ARN, OTHER_ARN}


def test_only_the_default_and_the_route_secrets_are_readable():
    """One statement reads secrets, GetSecretValue only, on the default token and the routes'."""
    document = function_policy()
    statements = [*document["statement"], *(body for _, body in notice_statements(document))]
    [read] = [s for s in statements if any("secretsmanager" in a for a in unquote(s["actions"]))]
    assert unquote(read["sid"]) == "ReadGitHubToken"
    assert unquote(read["actions"]) == ["secretsmanager:GetSecretValue"]
    assert unquote(read["resources"]) == READABLE_SECRETS
    assert set(read) == {"sid", "actions", "resources", "__is_block__"}


def test_the_sample_routes_name_no_secret():
    """The repository's routes.yaml names no secret: the role reads the default token only."""
    assert route_secret_arns((ROOT / "routes.yaml").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("arn", "accepted"),
    [
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:web-token-??????", True),
        (KEY_ARN, True),
        (OTHER_ARN, True),
        ("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a/b_c+d=e.f@g-h-??????", True),
        ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf", True),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:*", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:web-*", False),
        ("arn:aws:secretsmanager:*:123456789012:secret:web-token-??????", False),
        ("arn:aws:secretsmanager:eu-west-1:*:secret:web-token-??????", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:web-token-?????", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:web-???????", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:w?b-token-??????", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:-??????", False),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter/web-token", False),
        ("arn:aws:secretsmanager:eu-west-1:1234567890:secret:web-token-??????", False),
        ("web-token", False),
        ("*", False),
    ],
)
def test_route_secret_arns_admit_no_wildcard_but_the_suffix(arn: str, accepted: bool):
    """The module takes secret ARNs whose only wildcard is the trailing -?????? suffix."""
    assert bool(route_secret_arn_pattern().fullmatch(arn)) is accepted


def test_the_route_secret_arns_pass_the_validation():
    """Every ARN the sample's routes yield is accepted by the function module."""
    for arn in route_secret_arns(SECRET_ROUTES):
        assert route_secret_arn_pattern().fullmatch(arn), arn


def test_claims_are_granted_exactly_on_the_table():
    """ClaimMail allows the persistence layer's item operations, on the claims table only."""
    [(_, document)] = [
        (labels, body)
        for labels, body in blocks(MODULES_BY_NAME["function"], "data")
        if labels == ["aws_iam_policy_document", "this"]
    ]
    [claim] = [s for s in document["statement"] if unquote(s["sid"]) == "ClaimMail"]
    assert sorted(unquote(claim["actions"])) == sorted(iam_actions(persistence_layer_calls()))
    assert unquote(claim["resources"]) == ["var.idempotency_table_arn"]
    assert "effect" not in claim
    function = modules_called(TERRAFORM)["function"]
    assert unquote(function["idempotency_table_arn"]) == "module.idempotency_store.table_arn"
    outputs = {
        labels[0]: body for labels, body in blocks(MODULES_BY_NAME["idempotency_store"], "output")
    }
    assert unquote(outputs["table_arn"]["value"]) == "aws_dynamodb_table.this.arn"


def test_the_token_never_passes_through_terraform():
    """The secret is created empty: no secret version, no variable that could hold the token."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in TF_FILES)
    assert "aws_secretsmanager_secret_version" not in text
    assert not [name for name in variables(TERRAFORM) if "token" in name or "secret" in name]


def test_every_checkov_skip_says_why():
    """A skipped check carries its reason where it is made."""
    skips = re.findall(
        r"#checkov:skip=([A-Z0-9_]+)(:?)(.*)", "\n".join(map(Path.read_text, TF_FILES))
    )
    assert skips
    for check, colon, reason in skips:
        assert colon == ":", check
        assert len(reason.strip()) >= 30, check


def test_alarms_watch_errors_and_the_mail_queues():
    """Function errors, a non-empty dead-letter queue and mail an hour old in the mail queue
    raise an alarm; e-mail is optional."""
    folder = MODULES_BY_NAME["alarms"]
    errors = resource(folder, "aws_cloudwatch_metric_alarm", "errors")
    assert (unquote(errors["namespace"]), unquote(errors["metric_name"])) == (
        "AWS/Lambda",
        "Errors",
    )
    depth = resource(folder, "aws_cloudwatch_metric_alarm", "failed_mail")
    assert unquote(depth["metric_name"]) == "ApproximateNumberOfMessagesVisible"
    assert unquote(depth["dimensions"]) == {"QueueName": "${var.mail_dead_letter_queue_name}"}
    waiting = resource(folder, "aws_cloudwatch_metric_alarm", "mail_waiting")
    assert unquote(waiting["metric_name"]) == "ApproximateAgeOfOldestMessage"
    assert unquote(waiting["dimensions"]) == {"QueueName": "${var.mail_queue_name}"}
    assert (waiting["threshold"], waiting["period"], waiting["evaluation_periods"]) == (
        3600,
        300,
        1,
    )
    subscription = resource(folder, "aws_sns_topic_subscription", "email")
    assert unquote(subscription["count"]) == 'var.alarm_email == "" ? 0 : 1'
    call = modules_called(TERRAFORM)["alarms"]
    assert unquote(call["mail_queue_name"]) == "module.mail_queue.queue_name"
    assert unquote(call["mail_dead_letter_queue_name"]) == (
        "module.mail_queue.dead_letter_queue_name"
    )


def test_the_mail_not_found_alarm_watches_the_metric_the_function_publishes():
    """Namespace, metric and dimensions are those of handler/service/metrics.py: Powertools adds
    the service (handler.SERVICE) as `service`, the per-reason count adds `reason`."""
    folder = MODULES_BY_NAME["alarms"]
    alarm = resource(folder, "aws_cloudwatch_metric_alarm", "mail_not_found")
    [(_, local)] = list(blocks(folder, "locals"))
    assert unquote(alarm["namespace"]) == "local.metrics_namespace"
    assert unquote(local["metrics_namespace"]) == metrics.NAMESPACE
    assert unquote(alarm["metric_name"]) == metrics.FAILED
    assert {name: unquote(value) for name, value in alarm["dimensions"].items()} == {
        "service": "local.metrics_service",
        "reason": Reason.MAIL_NOT_FOUND.value,
    }
    assert unquote(local["metrics_service"]) == SERVICE
    assert (alarm["period"], alarm["threshold"], unquote(alarm["statistic"])) == (60, 1, "Sum")
    # Nothing sets another namespace on the function: POWERTOOLS_METRICS_NAMESPACE unset.
    [environment] = resource(MODULES_BY_NAME["function"], "aws_lambda_function", "this")[
        "environment"
    ]
    assert metrics.NAMESPACE_VARIABLE not in environment["variables"]


def test_the_credential_alarm_watches_the_metric_the_function_publishes():
    """CredentialLostAccess under the service alone, the first one in five minutes."""
    alarm = resource(
        MODULES_BY_NAME["alarms"], "aws_cloudwatch_metric_alarm", "credential_lost_access"
    )
    assert unquote(alarm["namespace"]) == "local.metrics_namespace"
    assert unquote(alarm["metric_name"]) == metrics.CREDENTIAL_LOST_ACCESS
    assert {name: unquote(value) for name, value in alarm["dimensions"].items()} == {
        "service": "local.metrics_service"
    }
    assert (alarm["period"], alarm["threshold"], unquote(alarm["statistic"])) == (300, 1, "Sum")


def test_the_rejection_spike_query_reads_the_per_route_metric():
    """One Metrics Insights query over PermanentRejections with exactly the dimensions the
    function publishes it with (route, service), grouped by route, the worst kept; its period
    and threshold are the root's variables."""
    folder = MODULES_BY_NAME["alarms"]
    alarm = resource(folder, "aws_cloudwatch_metric_alarm", "rejection_spike")
    [query] = alarm["metric_query"]
    assert unquote(query["expression"]) == (
        'SELECT SUM(PermanentRejections) FROM SCHEMA(\\"${local.metrics_namespace}\\", route, '
        "service) WHERE service = '${local.metrics_service}' GROUP BY route ORDER BY SUM() DESC "
        "LIMIT 1"
    )
    assert metrics.PERMANENT_REJECTIONS == "PermanentRejections"
    assert unquote(query["period"]) == "var.rejection_spike_minutes * 60"
    assert unquote(alarm["threshold"]) == "var.rejection_spike_threshold"
    call = modules_called(TERRAFORM)["alarms"]
    assert {
        key: unquote(call[key]) for key in ("rejection_spike_threshold", "rejection_spike_minutes")
    } == {
        "rejection_spike_threshold": "var.rejection_spike_threshold",
        "rejection_spike_minutes": "var.rejection_spike_minutes",
    }


def test_the_per_route_metric_has_the_dimensions_the_query_names(
    capsys: pytest.CaptureFixture[str],
):
    """A route's permanent rejection yields an EMF line for PermanentRejections with exactly
    the dimensions route and service (SCHEMA matches no metric with more or fewer)."""
    published = metrics.EmbeddedMetrics()
    published.record(
        [metrics.Measurement(metrics.PERMANENT_REJECTIONS, 1, route="web-@issues.example.com")]
    )
    published.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [line] = [line for line in lines if "route" in line]
    assert line["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "TicketRouter",
            "Dimensions": [["route", "service"]],
            "Metrics": [{"Name": "PermanentRejections", "Unit": "Count"}],
        }
    ]
    assert {key: value for key, value in line.items() if key != "_aws"} == {
        "route": "web-@issues.example.com",
        "service": "ticket-router",
        "PermanentRejections": [1.0],
    }


def test_the_metric_the_alarm_watches_is_published_with_those_dimensions(
    capsys: pytest.CaptureFixture[str],
):
    """A failed mail-not-found decision yields an EMF line for Failed with exactly the
    dimensions service and reason, in the TicketRouter namespace."""
    published = metrics.EmbeddedMetrics()
    published.record([metrics.Measurement(metrics.FAILED, 1, reason=Reason.MAIL_NOT_FOUND)])
    published.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [line] = [line for line in lines if "reason" in line]
    assert line["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "TicketRouter",
            "Dimensions": [["reason", "service"]],
            "Metrics": [{"Name": "Failed", "Unit": "Count"}],
        }
    ]
    assert {key: value for key, value in line.items() if key != "_aws"} == {
        "reason": "mail-not-found",
        "service": "ticket-router",
        "Failed": [1.0],
    }


def test_the_mail_failing_alarm_watches_the_total_of_failed_decisions():
    """Failed with the service dimension only (every reason), Sum >= 1 in each of three
    five-minute periods: retried mail, which Lambda's Errors no longer sees."""
    folder = MODULES_BY_NAME["alarms"]
    alarm = resource(folder, "aws_cloudwatch_metric_alarm", "mail_failing")
    assert unquote(alarm["namespace"]) == "local.metrics_namespace"
    assert unquote(alarm["metric_name"]) == metrics.FAILED
    assert {name: unquote(value) for name, value in alarm["dimensions"].items()} == {
        "service": "local.metrics_service"
    }
    assert (
        alarm["period"],
        alarm["evaluation_periods"],
        alarm["datapoints_to_alarm"],
        alarm["threshold"],
        unquote(alarm["statistic"]),
        unquote(alarm["comparison_operator"]),
    ) == (300, 3, 3, 1, "Sum", "GreaterThanOrEqualToThreshold")


def test_the_total_the_alarm_watches_is_published_with_the_service_only(
    capsys: pytest.CaptureFixture[str],
):
    """A failed decision of any reason is counted in the total Failed, whose only dimension is
    the service: the metric the mail-failing alarm watches."""
    published = metrics.EmbeddedMetrics()
    published.record([metrics.Measurement(metrics.FAILED, 1, reason=Reason.GITHUB_UNAVAILABLE)])
    published.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [total] = [line for line in lines if "reason" not in line]
    [directive] = total["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("TicketRouter", [["service"]])
    assert (total["service"], total["Failed"]) == ("ticket-router", [1.0])


def test_unknown_ses_outcomes_are_counted_from_the_outbox_log_and_alarmed():
    """The replies module counts the outbox's mail-outcome-unknown lines in TicketRouter (the
    log line itself: tests/test_outbox.py), hands the metric to the root, which gives it to the
    alarms module; without replies by mail it is null and there is no alarm."""
    metric_filter = resource(REPLIES, "aws_cloudwatch_log_metric_filter", "mail_outcome_unknown")
    assert unquote(metric_filter["log_group_name"]) == "aws_cloudwatch_log_group.outbox.name"
    assert unquote(metric_filter["pattern"]) == (
        '{ $.reason = \\"' + Reason.MAIL_OUTCOME_UNKNOWN.value + '\\" }'
    )
    [transformation] = metric_filter["metric_transformation"]
    assert {key: unquote(value) for key, value in transformation.items() if key[0] != "_"} == {
        "namespace": metrics.NAMESPACE,
        "name": "MailOutcomeUnknown",
        "value": "1",
        "default_value": "0",
        "unit": "Count",
    }
    outputs = {labels[0]: body for labels, body in blocks(REPLIES, "output")}
    transformed = "aws_cloudwatch_log_metric_filter.mail_outcome_unknown.metric_transformation[0]"
    assert unquote(outputs["mail_outcome_unknown_metric"]["value"]) == {
        "namespace": "${" + transformed + ".namespace}",
        "name": "${" + transformed + ".name}",
    }
    call = modules_called(TERRAFORM)["alarms"]
    assert unquote(call["mail_outcome_unknown_metric"]) == (
        "one(module.replies[*].mail_outcome_unknown_metric)"
    )
    alarm = resource(
        MODULES_BY_NAME["alarms"], "aws_cloudwatch_metric_alarm", "mail_outcome_unknown"
    )
    assert unquote(alarm["count"]) == "var.mail_outcome_unknown_metric == null ? 0 : 1"
    assert (unquote(alarm["namespace"]), unquote(alarm["metric_name"])) == (
        "var.mail_outcome_unknown_metric.namespace",
        "var.mail_outcome_unknown_metric.name",
    )
    assert "dimensions" not in alarm
    assert (alarm["period"], alarm["threshold"], unquote(alarm["statistic"])) == (300, 1, "Sum")


MODULES_BY_NAME = {folder.name: folder for folder in MODULES}


def test_the_example_re_exports_every_output_of_the_module():
    """`terraform output NAME` (README, docs) works in examples/complete: `make tf-docs` writes
    its outputs.tf (checked with the READMEs below)."""
    example = {labels[0] for labels, _ in blocks(TERRAFORM / "examples" / "complete", "output")}
    assert example == set(root_outputs())


def test_module_readmes_list_the_current_inputs_and_outputs():
    """The Inputs/Outputs tables are regenerated from the .tf files (`make tf-docs`)."""
    assert load_script("tf_docs").main(["--check"]) == 0


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use():
    """A rotated customer-managed key encrypts the topic; its policy admits our CloudWatch."""
    folder = MODULES_BY_NAME["alarms"]
    topic = resource(folder, "aws_sns_topic", "this")
    assert unquote(topic["kms_master_key_id"]) == "aws_kms_key.this.arn"
    key = resource(folder, "aws_kms_key", "this")
    assert key["enable_key_rotation"] is True
    assert unquote(key["policy"]) == "data.aws_iam_policy_document.key.json"
    [document] = [body for labels, body in blocks(folder, "data") if labels[1:] == ["key"]]
    statements = {unquote(s["sid"]): s for s in document["statement"]}
    cloudwatch = statements["CloudWatchPublishesAlarms"]
    assert unquote(cloudwatch["principals"][0]["identifiers"]) == ["cloudwatch.amazonaws.com"]
    assert set(unquote(cloudwatch["actions"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    [condition] = cloudwatch["condition"]
    assert unquote(condition["variable"]) == "aws:SourceAccount"


def domain_pattern() -> re.Pattern[str]:
    """The regex mail_receiving validates recipient domains with, as Terraform reads it."""
    [validation] = [
        v
        for v in variables(MODULES_BY_NAME["mail_receiving"])["domains"]["validation"]
        if "regex(" in v["condition"]
    ]
    [literal] = re.findall(r'regex\("((?:[^"\\]|\\.)*)"', validation["condition"])
    return re.compile(json.loads(f'"{literal}"'))


@pytest.mark.parametrize(
    ("domain", "accepted"),
    [
        ("anomalies.unseen.ac.uk", True),
        ("xn--bcher-kva.example", True),
        ("mail.xn--p1ai", True),
        ("a-b.example.com", True),
        ("bücher.example", False),
        ("Issues.Example.com", False),
        ("localhost", False),
        ("-bad.example.com", False),
        ("bad-.example.com", False),
        ("two..dots.example", False),
    ],
)
def test_recipient_domains_must_be_ascii_host_names(domain: str, accepted: bool):
    """SES takes ASCII names: IDNs as xn-- in routes.yaml; the root lowercases before this check."""
    assert bool(domain_pattern().fullmatch(domain)) is accepted


def test_the_routes_domains_pass_the_validation():
    """The repository's routes.yaml deploys: each of its domains is accepted."""
    for domain in load_routes(ROOT / "routes.yaml").domains:
        assert domain_pattern().fullmatch(domain), domain


def test_the_role_has_no_other_policy():
    """Only the inline policy checked above is attached: no managed policy widens it."""
    folder = MODULES_BY_NAME["function"]
    kinds = {labels[0] for labels, _ in blocks(folder, "resource")}
    assert "aws_iam_role_policy_attachment" not in kinds
    assert "aws_iam_policy_attachment" not in kinds
    role = resource(folder, "aws_iam_role", "this")
    assert "managed_policy_arns" not in role
    assert "inline_policy" not in role


def test_dns_records_point_mail_at_the_regions_inbound_endpoint():
    """MX records name inbound-smtp.<region>.amazonaws.com; managed zones come from the map."""
    folder = MODULES_BY_NAME["mail_receiving"]
    [(_, local)] = list(blocks(folder, "locals"))
    assert unquote(local["inbound_smtp"]) == "inbound-smtp.${var.region}.amazonaws.com"
    mx = resource(folder, "aws_route53_record", "mx")
    assert unquote(mx["for_each"]) == "local.managed"
    assert unquote(mx["records"]) == ["10 ${local.inbound_smtp}"]
    assert unquote(modules_called(TERRAFORM)["mail_receiving"]["region"]) == "local.region"


def test_the_region_must_be_one_where_ses_receives_mail():
    """The region is validated against SES's receiving regions, and the message names them."""
    folder = MODULES_BY_NAME["mail_receiving"]
    [(_, local)] = list(blocks(folder, "locals"))
    assert unquote(local["receiving_regions"]) == [
        *("us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2"),
        *("eu-central-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-northeast-1"),
    ]
    [validation] = variables(folder)["region"]["validation"]
    assert unquote(validation["condition"]) == "contains(local.receiving_regions, var.region)"
    assert '${join(", ", local.receiving_regions)}' in validation["error_message"]


def test_identities_are_created_unless_listed_as_existing():
    """Created with SESv2 (which fails when the identity exists) with Easy DKIM and its records;
    listed ones are read only; the v1 identities of earlier versions are forgotten, never
    destroyed."""
    folder = MODULES_BY_NAME["mail_receiving"]
    [(_, local)] = list(blocks(folder, "locals"))
    assert unquote(local["created"]) == (
        "[for domain in var.domains : domain if !contains(var.existing_identities, domain)]"
    )
    identity = resource(folder, "aws_sesv2_email_identity", "this")
    assert unquote(identity["for_each"]) == "toset(local.created)"
    [dkim] = identity["dkim_signing_attributes"]
    assert unquote(dkim["next_signing_key_length"]) == "RSA_2048_BIT"
    [existing] = [
        body
        for labels, body in blocks(folder, "data")
        if labels == ["aws_sesv2_email_identity", "existing"]
    ]
    assert unquote(existing["for_each"]) == "toset(var.existing_identities)"
    # Only created identities get DKIM records and a wait for their verification.
    assert unquote(local["managed_created"]) == (
        "{for domain, zone_id in local.managed : domain => zone_id"
        " if contains(local.created, domain)}"
    )
    assert unquote(local["dkim_records"]).startswith(
        "{for pair in setproduct(keys(local.managed_created), [0, 1, 2])"
    )
    verification = resource(folder, "aws_ses_domain_identity_verification", "this")
    assert unquote(verification["for_each"]) == "local.managed_created"
    assert verification["depends_on"] == ["${aws_route53_record.dkim}"]
    kinds = {labels[0] for labels, _ in blocks(folder, "resource")}
    assert not kinds & {"aws_ses_domain_identity", "aws_ses_domain_dkim"}
    removed = {unquote(body["from"]): body for _, body in blocks(folder, "removed")}
    assert set(removed) == {
        "aws_ses_domain_identity.this",
        "aws_ses_domain_dkim.this",
        "aws_route53_record.verification",
    }
    for body in removed.values():
        [lifecycle] = body["lifecycle"]
        assert lifecycle["destroy"] is False
    call = modules_called(TERRAFORM)["mail_receiving"]
    assert unquote(call["existing_identities"]) == "var.existing_identities"
    assert variables(TERRAFORM)["existing_identities"]["default"] == []


def test_rule_set_activation_is_opt_in_and_waits_for_the_rules():
    """activate_rule_set (default off) activates a set of ours only, once every rule exists; a
    check warns about the region's active set."""
    folder = MODULES_BY_NAME["mail_receiving"]
    active = resource(folder, "aws_ses_active_receipt_rule_set", "this")
    assert unquote(active["count"]) == "var.activate_rule_set && var.create_rule_set ? 1 : 0"
    assert active["depends_on"] == [
        "${aws_ses_receipt_rule.this}",
        "${aws_ses_receipt_rule.more}",
    ]
    assert variables(TERRAFORM)["activate_rule_set"]["default"] is False
    assert variables(folder)["activate_rule_set"]["default"] is False
    # In the root: a check inside a module the teardown guard depends on forms a cycle.
    assert not list(blocks(folder, "check"))
    [(labels, check)] = list(blocks(TERRAFORM, "check"))
    assert labels == ["active_receipt_rule_set"]
    assert len(check["assert"]) == 3
    assert unquote(modules_called(TERRAFORM)["mail_receiving"]["activate_rule_set"]) == (
        "var.activate_rule_set"
    )


def persistence_layer_defaults() -> dict[str, Any]:
    """The attribute names DynamoDBPersistenceLayer uses when handler/ passes none."""
    signature = inspect.signature(persistence_layer().DynamoDBPersistenceLayer)
    return {name: p.default for name, p in signature.parameters.items() if name.endswith("_attr")}


def test_the_table_has_the_key_and_ttl_powertools_writes():
    """Key `id` (string) alone and TTL on `expiration`: Powertools' defaults, none overridden."""
    table = resource(MODULES_BY_NAME["idempotency_store"], "aws_dynamodb_table", "this")
    defaults = persistence_layer_defaults()
    assert (defaults["key_attr"], defaults["sort_key_attr"]) == ("id", None)
    assert defaults["expiry_attr"] == "expiration"
    assert unquote(table["hash_key"]) == "id"
    assert "range_key" not in table
    assert [(unquote(a["name"]), unquote(a["type"])) for a in table["attribute"]] == [("id", "S")]
    [ttl] = table["ttl"]
    assert (unquote(ttl["attribute_name"]), ttl["enabled"]) == ("expiration", True)
    # Another attribute name passed in handler/ would no longer match the table.
    assert not re.search(r"\b(?:key|sort_key|expiry)_attr\s*=", handler_code())


def test_the_table_is_on_demand_and_recoverable():
    """PAY_PER_REQUEST billing (nothing to size), point-in-time recovery on."""
    table = resource(MODULES_BY_NAME["idempotency_store"], "aws_dynamodb_table", "this")
    assert unquote(table["billing_mode"]) == "PAY_PER_REQUEST"
    assert "read_capacity" not in table
    assert "write_capacity" not in table
    [recovery] = table["point_in_time_recovery"]
    assert recovery["enabled"] is True


def test_the_table_is_protected_from_deletion_unless_turned_off():
    """Deletion protection comes from protect_claims_table, on unless a teardown turns it off."""
    table = resource(MODULES_BY_NAME["idempotency_store"], "aws_dynamodb_table", "this")
    assert unquote(table["deletion_protection_enabled"]) == "var.deletion_protection"
    assert variables(MODULES_BY_NAME["idempotency_store"])["deletion_protection"]["default"] is True
    assert variables(TERRAFORM)["protect_claims_table"]["default"] is True
    store = modules_called(TERRAFORM)["idempotency_store"]
    assert unquote(store["deletion_protection"]) == "var.protect_claims_table"
    assert unquote(store["name"]) == "${var.name}-claims"


def test_the_function_is_told_the_table_and_the_claim_lifetime():
    """IDEMPOTENCY_TABLE names the table; IDEMPOTENCY_TTL_SECONDS is the mail retention."""
    function = resource(MODULES_BY_NAME["function"], "aws_lambda_function", "this")
    [environment] = function["environment"]
    values = {name: unquote(value) for name, value in environment["variables"].items()}
    assert values["IDEMPOTENCY_TABLE"] == "var.idempotency_table_name"
    assert values["IDEMPOTENCY_TTL_SECONDS"] == "tostring(var.idempotency_ttl_seconds)"
    call = modules_called(TERRAFORM)["function"]
    assert unquote(call["idempotency_table_name"]) == "module.idempotency_store.table_name"
    assert unquote(call["idempotency_ttl_seconds"]) == "local.claim_ttl_seconds"
    # A claim starts after its mail was stored, and S3 removes a mail up to a day after its
    # retention (at the next midnight UTC): the claim lasts that day longer.
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert unquote(local["claim_ttl_seconds"]) == "(var.mail_retention_days + 1) * 86400"
    lifecycle = resource(
        MODULES_BY_NAME["mail_storage"], "aws_s3_bucket_lifecycle_configuration", "this"
    )
    [expiry] = [r for r in lifecycle["rule"] if unquote(r["id"]) == "expire-mail"]
    assert unquote(expiry["expiration"][0]["days"]) == "var.retention_days"
    storage = modules_called(TERRAFORM)["mail_storage"]
    assert unquote(storage["retention_days"]) == "var.mail_retention_days"


# Replies by mail: the webhook and outbox functions, their queue and SES's feedback,
# created only for routes with notify_participants.
REPLIES = TERRAFORM / "modules" / "replies"

PARTICIPANT_ROUTES = """\
routes:
  - {domain: Quiet.example.com, repo: o/a, allowed_senders: [a.org]}
  - {domain: Talk.example.com., repo: o/b, allowed_senders: [a.org], notify_participants: true}
  - {domain: talk.example.com, prefix: x, repo: o/c, allowed_senders: [a.org],
     notify_participants: true}
  - {domain: notes.example.com, repo: o/d, allowed_senders: [a.org], notify: true}
  - {domain: off.example.com, repo: o/e, allowed_senders: [a.org], notify_participants: false}
"""
QUIET_ROUTES = (
    "routes:\n"
    "  - {domain: a.example.com, repo: o/a, allowed_senders: [a.org], notify: true}\n"
    "  - {domain: b.example.com, repo: o/b, allowed_senders: [a.org]}\n"
)


def participant_domains(routes_text: str) -> list[str]:
    """local.participant_domains, computed as the Terraform expression does."""
    routes = yaml.safe_load(routes_text)["routes"]
    return list(
        dict.fromkeys(
            r["domain"].strip().lower().removesuffix(".")
            for r in routes
            if r.get("notify_participants", False)
        )
    )


def root_local(name: str) -> str:
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    return unquote(local[name])


def root_outputs() -> dict[str, dict[str, Any]]:
    return {labels[0]: body for labels, body in blocks(TERRAFORM, "output")}


def policy(folder: Path, name: str) -> dict[str, tuple[list[str], Any]]:
    """sid -> (sorted actions, resources) of the statements of a policy document."""
    [document] = [
        body
        for labels, body in blocks(folder, "data")
        if labels == ["aws_iam_policy_document", name]
    ]
    assert "dynamic" not in document
    return {
        unquote(s["sid"]): (sorted(unquote(s["actions"])), unquote(s["resources"]))
        for s in document["statement"]
    }


def statement(folder: Path, document: str, sid: str) -> dict[str, Any]:
    [body] = [
        body
        for labels, body in blocks(folder, "data")
        if labels == ["aws_iam_policy_document", document]
    ]
    [found] = [s for s in body["statement"] if unquote(s["sid"]) == sid]
    return found


def conditions(statement_body: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """variable -> (test, values) of a statement's conditions."""
    return {
        unquote(c["variable"]): (unquote(c["test"]), unquote(c["values"]))
        for c in statement_body["condition"]
    }


def condition_list(statement_body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(test, variable, values) of each of a statement's conditions, sorted: a variable may be
    tested twice."""
    return sorted(
        (unquote(c["test"]), unquote(c["variable"]), unquote(c["values"]))
        for c in statement_body.get("condition", [])
    )


def test_participant_domains_are_those_of_the_routes_that_notify_participants():
    """The domains of routes with notify_participants, normalised as the handler reads them."""
    assert root_local("participant_domains") == (
        "distinct([for route in local.routes :"
        ' trimsuffix(lower(trimspace(route.domain)), ".")'
        " if try(route.notify_participants, false)])"
    )
    assert participant_domains(PARTICIPANT_ROUTES) == ["talk.example.com"]
    read = parse_routes(PARTICIPANT_ROUTES, "routes.yaml").routes
    assert {r.domain for r in read if r.notify_participants} == {"talk.example.com"}
    assert participant_domains(QUIET_ROUTES) == []
    assert participant_domains((ROOT / "routes.yaml").read_text(encoding="utf-8")) == [
        "issues.example.com"
    ]


def test_replies_exist_only_when_a_route_notifies_participants():
    """The webhook secret and the replies module are counted by local.replies, one or none."""
    assert root_local("replies") == "length(local.participant_domains) > 0"
    calls = modules_called(TERRAFORM)
    for name in ("webhook_secret", "replies"):
        assert unquote(calls[name]["count"]) == "local.replies ? 1 : 0", name
    assert unquote(calls["webhook_secret"]["source"]) == "./modules/token_secret"
    assert unquote(calls["replies"]["source"]) == "./modules/replies"
    assert unquote(calls["replies"]["webhook_secret_arn"]) == "module.webhook_secret[0].arn"
    # Nothing else refers to the counted modules but through a splat, which is empty without.
    for name, call in calls.items():
        if name not in {"replies", "webhook_secret"}:
            assert "module.replies[0]" not in json.dumps(call), name
            assert "module.webhook_secret[0]" not in json.dumps(call), name


def test_the_outputs_are_null_without_replies():
    """webhook_url, webhook_secret_arn and the queues are one() of the counted modules' outputs."""
    outputs = root_outputs()
    assert {name: unquote(outputs[name]["value"]) for name in outputs if name.startswith("w")} == {
        "webhook_url": "one(module.replies[*].webhook_url)",
        "webhook_secret_arn": "one(module.webhook_secret[*].arn)",
        "work_queue": "one(module.replies[*].work_queue_name)",
        "work_dead_letter_queue": "one(module.replies[*].dead_letter_queue_name)",
    }
    replies = {labels[0]: body for labels, body in blocks(REPLIES, "output")}
    assert unquote(replies["webhook_url"]["value"]) == (
        "aws_lambda_function_url.webhook.function_url"
    )
    assert unquote(replies["work_queue_name"]["value"]) == "aws_sqs_queue.work.name"
    assert unquote(replies["dead_letter_queue_name"]["value"]) == "aws_sqs_queue.dead_letter.name"


def test_the_outbox_sends_through_the_participants_identities():
    """The replies get the identities of the participants' domains from mail_receiving, and
    nothing about the identities of other domains: no identity's settings are theirs."""
    call = modules_called(TERRAFORM)["replies"]
    assert unquote(call["sending_identity_arns"]) == (
        "{for domain in local.participant_domains :"
        " domain => module.mail_receiving.identity_arns[domain]}"
    )
    assert "feedback_identity_arns" not in call
    assert "feedback_identity_arns" not in variables(REPLIES)
    [(_, local)] = list(blocks(TERRAFORM, "locals"))
    assert "feedback_domains" not in local
    receiving = {
        labels[0]: body for labels, body in blocks(MODULES_BY_NAME["mail_receiving"], "output")
    }
    # Created or adopted: an adopted identity is sent from as ours is.
    assert unquote(receiving["identity_arns"]["value"]) == (
        "merge({for domain, identity in aws_sesv2_email_identity.this : domain => identity.arn},"
        " {for domain, identity in data.aws_sesv2_email_identity.existing :"
        " domain => identity.arn})"
    )


def test_bounces_and_complaints_come_from_the_configuration_set_never_an_identity():
    """The configuration set <name>-mail publishes bounces and complaints to the feedback topic
    once SES may publish there; no identity's notification settings are written anywhere, so
    adopted identities keep theirs and destroy resets none."""
    kinds = {
        labels[0] for path in TF_FILES for labels, _ in blocks(path.parent, "resource", [path])
    }
    assert "aws_ses_identity_notification_topic" not in kinds
    assert "aws_ses_identity_feedback_forwarding_enabled" not in kinds
    [(_, local)] = list(blocks(REPLIES, "locals"))
    assert unquote(local["configuration_set_name"]) == "${var.name}-mail"
    assert unquote(local["configuration_set_arn"]) == (
        "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:"
        "${local.account_id}:configuration-set/${local.configuration_set_name}"
    )
    configuration_set = resource(REPLIES, "aws_ses_configuration_set", "this")
    assert unquote(configuration_set["name"]) == "local.configuration_set_name"
    # Mail leaves over TLS only, as it comes in (the receipt rule's tls_policy).
    assert unquote(configuration_set["delivery_options"][0]["tls_policy"]) == "Require"
    destination = resource(REPLIES, "aws_ses_event_destination", "feedback")
    assert unquote(destination["configuration_set_name"]) == "aws_ses_configuration_set.this.name"
    assert destination["enabled"] is True
    assert unquote(destination["matching_types"]) == ["bounce", "complaint"]
    [sns] = destination["sns_destination"]
    assert unquote(sns["topic_arn"]) == "aws_sns_topic.feedback.arn"
    assert destination["depends_on"] == ["${aws_sns_topic_policy.feedback}"]


def test_ses_may_publish_feedback_for_the_configuration_set_only():
    """The topic policy admits SES publishing for this account's configuration set, nothing
    else: SES names the set as aws:SourceArn when it publishes its events."""
    assert policy(REPLIES, "feedback_topic") == {
        "SESPublishesFeedback": (["sns:Publish"], ["aws_sns_topic.feedback.arn"])
    }
    publish = statement(REPLIES, "feedback_topic", "SESPublishesFeedback")
    assert unquote(publish["principals"][0]["identifiers"]) == ["ses.amazonaws.com"]
    assert conditions(publish) == {
        "aws:SourceAccount": ("StringEquals", ["local.account_id"]),
        "aws:SourceArn": ("ArnEquals", ["local.configuration_set_arn"]),
    }
    topic_policy = resource(REPLIES, "aws_sns_topic_policy", "feedback")
    assert unquote(topic_policy["policy"]) == "data.aws_iam_policy_document.feedback_topic.json"


def test_the_feedback_topic_is_encrypted_with_a_key_ses_may_use():
    """SES cannot publish to a topic under aws/sns: a rotated key whose policy admits SES."""
    topic = resource(REPLIES, "aws_sns_topic", "feedback")
    assert unquote(topic["kms_master_key_id"]) == "aws_kms_key.feedback.arn"
    key = resource(REPLIES, "aws_kms_key", "feedback")
    assert key["enable_key_rotation"] is True
    assert unquote(key["policy"]) == "data.aws_iam_policy_document.feedback_key.json"
    ses = statement(REPLIES, "feedback_key", "SESPublishesFeedback")
    assert unquote(ses["principals"][0]["identifiers"]) == ["ses.amazonaws.com"]
    assert sorted(unquote(ses["actions"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert conditions(ses) == {"aws:SourceAccount": ("StringEquals", ["local.account_id"])}


def test_only_the_feedback_topic_may_send_to_the_work_queue_raw():
    """The queue policy admits SNS for exactly that topic; the subscription delivers raw."""
    assert policy(REPLIES, "work_queue") == {
        "FeedbackTopicDelivers": (["sqs:SendMessage"], ["aws_sqs_queue.work.arn"])
    }
    delivers = statement(REPLIES, "work_queue", "FeedbackTopicDelivers")
    assert unquote(delivers["principals"][0]["identifiers"]) == ["sns.amazonaws.com"]
    assert conditions(delivers) == {"aws:SourceArn": ("ArnEquals", ["aws_sns_topic.feedback.arn"])}
    queue_policy = resource(REPLIES, "aws_sqs_queue_policy", "work")
    assert unquote(queue_policy["queue_url"]) == "aws_sqs_queue.work.id"
    subscription = resource(REPLIES, "aws_sns_topic_subscription", "feedback")
    assert (unquote(subscription["protocol"]), unquote(subscription["endpoint"])) == (
        "sqs",
        "aws_sqs_queue.work.arn",
    )
    assert unquote(subscription["topic_arn"]) == "aws_sns_topic.feedback.arn"
    assert subscription["raw_message_delivery"] is True
    assert subscription["depends_on"] == ["${aws_sqs_queue_policy.work}"]


def test_the_queues_use_sse_sqs_which_sns_can_deliver_to():
    """Both queues are encrypted with SSE-SQS, never the AWS-managed aws/sqs key."""
    for name in ("work", "dead_letter"):
        queue = resource(REPLIES, "aws_sqs_queue", name)
        assert queue["sqs_managed_sse_enabled"] is True, name
        assert "kms_master_key_id" not in queue, name


def test_the_work_queue_outwaits_six_outbox_timeouts_then_dead_letters():
    """Visibility is 6 x the outbox's timeout; after 5 receipts an item rests 14 days in the DLQ."""
    [(_, local)] = list(blocks(REPLIES, "locals"))
    assert unquote(local["visibility_timeout_seconds"]) == "6 * var.outbox_timeout"
    work = resource(REPLIES, "aws_sqs_queue", "work")
    assert unquote(work["visibility_timeout_seconds"]) == "local.visibility_timeout_seconds"
    assert unquote(work["redrive_policy"]) == (
        "jsonencode({deadLetterTargetArn = aws_sqs_queue.dead_letter.arn,"
        " maxReceiveCount = var.max_receive_count})"
    )
    assert variables(REPLIES)["max_receive_count"]["default"] == 5
    dead_letter = resource(REPLIES, "aws_sqs_queue", "dead_letter")
    assert dead_letter["message_retention_seconds"] == 14 * 86400
    allow = resource(REPLIES, "aws_sqs_queue_redrive_allow_policy", "dead_letter")
    assert unquote(allow["redrive_allow_policy"]) == (
        'jsonencode({redrivePermission = "byQueue", sourceQueueArns = [aws_sqs_queue.work.arn]})'
    )
    outbox = resource(REPLIES, "aws_lambda_function", "outbox")
    assert unquote(outbox["timeout"]) == "var.outbox_timeout"


REPLIES_FUNCTIONS = {
    "webhook": "handler.webhook_function.lambda_handler",
    "outbox": "handler.outbox_function.lambda_handler",
}


@pytest.mark.parametrize(("name", "handler"), REPLIES_FUNCTIONS.items())
def test_replies_functions_run_their_packaged_handlers(name: str, handler: str):
    """python3.12 on arm64, the contract's handler (which imports), the mail function's zip."""
    function = resource(REPLIES, "aws_lambda_function", name)
    assert unquote(function["runtime"]) == "python3.12"
    assert unquote(function["architectures"]) == ["arm64"]
    assert unquote(function["handler"]) == handler
    module_name, _, attribute = handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), attribute))
    assert unquote(function["filename"]) == "var.package_file"
    assert unquote(function["source_code_hash"]) == "filebase64sha256(var.package_file)"
    assert unquote(function["function_name"]) == f"${{var.name}}-{name}"
    assert unquote(modules_called(TERRAFORM)["replies"]["package_file"]) == "local.package_file"
    group = resource(REPLIES, "aws_cloudwatch_log_group", name)
    assert unquote(group["name"]) == f"/aws/lambda/${{var.name}}-{name}"
    assert function["depends_on"] == [
        f"${{aws_cloudwatch_log_group.{name}}}",
        f"${{aws_iam_role_policy.{name}}}",
    ]


REPLIES_ENVIRONMENT = {
    "webhook": {
        "ROUTES_FILE": "/var/task/routes.json",
        "WEBHOOK_SECRET_ARN": "var.webhook_secret_arn",
        "WORK_QUEUE_URL": "aws_sqs_queue.work.url",
        "IDEMPOTENCY_TABLE": "var.idempotency_table_name",
        "LOG_LEVEL": "var.log_level",
    },
    "outbox": {
        "ROUTES_FILE": "/var/task/routes.json",
        "IDEMPOTENCY_TABLE": "var.idempotency_table_name",
        "IDEMPOTENCY_TTL_SECONDS": "tostring(var.idempotency_ttl_seconds)",
        "CLAIM_HOLD_SECONDS": "tostring(local.claim_hold_seconds)",
        "WEBHOOK_URL": "aws_lambda_function_url.webhook.function_url",
        "WEBHOOK_SECRET_ARN": "var.webhook_secret_arn",
        "GITHUB_API_URL": "var.github_api_url",
        "GITHUB_TOKEN_SECRET_ARN": "var.token_secret_arn",
        "GITHUB_POSTS_PER_MINUTE": "tostring(var.github_posts_per_minute)",
        "GITHUB_POSTS_PER_HOUR": "tostring(var.github_posts_per_hour)",
        "LOG_LEVEL": "var.log_level",
        "SES_CONFIGURATION_SET": "aws_ses_configuration_set.this.name",
    },
}


@pytest.mark.parametrize("name", REPLIES_ENVIRONMENT)
def test_replies_functions_get_the_contracts_environment(name: str):
    """Each function gets exactly the contract's variables, and its entry point reads no other."""
    function = resource(REPLIES, "aws_lambda_function", name)
    [environment] = function["environment"]
    values = {key: unquote(value) for key, value in environment["variables"].items()}
    assert values == REPLIES_ENVIRONMENT[name]
    read = environment_read(REPLIES_FUNCTIONS[name].rpartition(".")[0])
    assert read
    assert read <= set(values)


def test_the_outbox_holds_a_claim_past_the_queues_last_redelivery():
    """CLAIM_HOLD_SECONDS = the work queue's visibility timeout x its receive count + the
    outbox's timeout, never beyond the claims' lifetime (a precondition)."""
    [(_, local)] = list(blocks(REPLIES, "locals"))
    assert unquote(local["claim_hold_seconds"]) == (
        "local.visibility_timeout_seconds * var.max_receive_count + var.outbox_timeout"
    )
    outbox = resource(REPLIES, "aws_lambda_function", "outbox")
    [lifecycle] = outbox["lifecycle"]
    [precondition] = lifecycle["precondition"]
    assert unquote(precondition["condition"]) == (
        "local.claim_hold_seconds <= var.idempotency_ttl_seconds"
    )
    defaults = variables(REPLIES)
    hold = 6 * defaults["outbox_timeout"]["default"] * defaults["max_receive_count"]["default"]
    assert hold + defaults["outbox_timeout"]["default"] == 1860


def test_the_replies_read_the_claims_table_and_its_lifetime():
    """The root hands the replies the claims table and the mail function's claim lifetime."""
    call = modules_called(TERRAFORM)["replies"]
    assert unquote(call["idempotency_table_name"]) == "module.idempotency_store.table_name"
    assert unquote(call["idempotency_table_arn"]) == "module.idempotency_store.table_arn"
    assert unquote(call["idempotency_ttl_seconds"]) == "local.claim_ttl_seconds"


def test_the_webhook_answers_well_within_githubs_ten_seconds():
    """A short timeout, small memory and a reservation that caps what a flood can cost."""
    webhook = resource(REPLIES, "aws_lambda_function", "webhook")
    assert webhook["timeout"] <= 5
    assert webhook["memory_size"] <= 256
    assert unquote(webhook["reserved_concurrent_executions"]) == "var.webhook_reserved_concurrency"
    call = modules_called(TERRAFORM)["replies"]
    assert unquote(call["webhook_reserved_concurrency"]) == "var.webhook_reserved_concurrency"
    assert variables(TERRAFORM)["webhook_reserved_concurrency"]["default"] == 5


def test_the_function_url_is_public_and_invokes_through_the_url_only():
    """Auth NONE; InvokeFunctionUrl for NONE, and InvokeFunction only via the Function URL."""
    url = resource(REPLIES, "aws_lambda_function_url", "webhook")
    assert unquote(url["authorization_type"]) == "NONE"
    assert unquote(url["function_name"]) == "aws_lambda_function.webhook.function_name"
    assert url["depends_on"] == ["${aws_lambda_permission.url}"]
    permission = resource(REPLIES, "aws_lambda_permission", "url")
    assert {key: unquote(value) for key, value in permission.items() if key[0] != "_"} == {
        "statement_id": "FunctionURLAllowPublicAccess",
        "action": "lambda:InvokeFunctionUrl",
        "function_name": "aws_lambda_function.webhook.function_name",
        "principal": "*",
        "function_url_auth_type": "NONE",
    }
    # lambda:InvokeFunction for "*" is granted nowhere without lambda:InvokedViaFunctionUrl.
    permissions = [
        body for labels, body in blocks(REPLIES, "resource") if labels[0] == "aws_lambda_permission"
    ]
    assert [unquote(p["action"]) for p in permissions] == ["lambda:InvokeFunctionUrl"]
    stack = resource(REPLIES, "aws_cloudformation_stack", "invoke_via_url")
    template = unquote(stack["template_body"])
    [properties] = re.findall(
        r'Type = "AWS::Lambda::Permission", Properties = \{([^}]*)\}', template
    )
    assert properties == (
        'Action = "lambda:InvokeFunction", FunctionName = aws_lambda_function.webhook.arn,'
        ' Principal = "*", InvokedViaFunctionUrl = true'
    )
    assert template.count("AWS::Lambda::Permission") == 1


def test_the_outbox_reads_the_work_queue_in_small_batches_reporting_failed_items():
    """An SQS event source on the work queue, ReportBatchItemFailures, batches of a few."""
    mapping = resource(REPLIES, "aws_lambda_event_source_mapping", "outbox")
    assert unquote(mapping["event_source_arn"]) == "aws_sqs_queue.work.arn"
    assert unquote(mapping["function_name"]) == "aws_lambda_function.outbox.arn"
    assert unquote(mapping["function_response_types"]) == ["ReportBatchItemFailures"]
    assert 1 <= mapping["batch_size"] <= 10
    [scaling] = mapping["scaling_config"]
    assert scaling["maximum_concurrency"] == 2


# What each role may do, statement by statement: the contract's list (handler/ code that does
# more fails test_the_replies_functions_call_nothing_beyond_their_grants).
REPLIES_GRANTS = {
    "webhook": {
        "ReadWebhookSecret": (["secretsmanager:GetSecretValue"], ["var.webhook_secret_arn"]),
        "QueueWork": (["sqs:SendMessage"], ["aws_sqs_queue.work.arn"]),
        "ClaimDeliveries": (
            ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["var.idempotency_table_arn"],
        ),
        "RemoveParticipants": (["dynamodb:UpdateItem"], ["var.idempotency_table_arn"]),
        "WriteLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            ["${aws_cloudwatch_log_group.webhook.arn}:*"],
        ),
    },
    "outbox": {
        "MailParticipants": (
            ["ses:SendRawEmail"],
            "concat(values(var.sending_identity_arns), [local.configuration_set_arn])",
        ),
        "ClaimMail": (
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["var.idempotency_table_arn"],
        ),
        "ReadParticipants": (
            ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            ["var.idempotency_table_arn"],
        ),
        "ReadAuthors": (["dynamodb:GetItem"], ["var.idempotency_table_arn"]),
        "SuppressAddresses": (
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            ["var.idempotency_table_arn"],
        ),
        "RecordSentMail": (
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            ["var.idempotency_table_arn"],
        ),
        "LimitPostRate": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["var.idempotency_table_arn"],
        ),
        "ReadWebhookSecret": (["secretsmanager:GetSecretValue"], ["var.webhook_secret_arn"]),
        "ReadGitHubToken": (["secretsmanager:GetSecretValue"], READABLE_SECRETS),
        "ReadWork": (
            ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            ["aws_sqs_queue.work.arn"],
        ),
        "WriteLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            ["${aws_cloudwatch_log_group.outbox.arn}:*"],
        ),
    },
}


@pytest.mark.parametrize("name", REPLIES_GRANTS)
def test_each_replies_role_is_granted_exactly_the_contracts_calls(name: str):
    """Per statement: the actions and the resources they apply to, nothing else, no "*"."""
    assert policy(REPLIES, name) == REPLIES_GRANTS[name]
    role_policy = resource(REPLIES, "aws_iam_role_policy", name)
    assert unquote(role_policy["role"]) == f"aws_iam_role.{name}.id"
    assert unquote(role_policy["policy"]) == f"data.aws_iam_policy_document.{name}.json"
    role = resource(REPLIES, "aws_iam_role", name)
    assert "managed_policy_arns" not in role
    assert "inline_policy" not in role
    assert unquote(resource(REPLIES, "aws_lambda_function", name)["role"]) == (
        f"aws_iam_role.{name}.arn"
    )


def test_the_replies_roles_have_no_other_policy():
    """Only the inline policies checked above: no managed policy widens either role."""
    kinds = {labels[0] for labels, _ in blocks(REPLIES, "resource")}
    assert "aws_iam_role_policy_attachment" not in kinds
    assert "aws_iam_policy_attachment" not in kinds


# What the scan finds in modules a function imports but never calls there. The webhook imports
# handler.aws.participants to remove a participant (UpdateItem): reading participants and
# suppressions (GetItem) is the outbox's. Powertools' persistence layer (the delivery ids) reads a
# record only when a failed conditional write does not return it, which
# ReturnValuesOnConditionCheckFailure makes it do.
UNREACHED = {"webhook": {"dynamodb:GetItem"}, "outbox": set()}


@pytest.mark.parametrize("name", REPLIES_FUNCTIONS)
def test_the_replies_functions_call_nothing_beyond_their_grants(name: str):
    """Every boto3 call the function's code makes (Powertools' included) is granted to its role."""
    code = handler_code(REPLIES_FUNCTIONS[name].rpartition(".")[0])
    calls = boto3_calls(code)
    if "DynamoDBPersistenceLayer" in code:
        calls |= persistence_layer_calls()
    granted = {action for actions, _ in policy(REPLIES, name).values() for action in actions}
    assert UNREACHED[name] <= iam_actions(calls)
    assert iam_actions(calls) - UNREACHED[name] <= granted
    # Every service the role is granted is one the code calls or Lambda calls for it.
    on_behalf = {"logs", "sqs"} if name == "outbox" else {"logs"}
    assert {a.partition(":")[0] for a in granted} == {
        a.partition(":")[0] for a in iam_actions(calls)
    } | on_behalf


def test_updates_are_sent_from_the_participants_domains_only():
    """The outbox's SendRawEmail resources are the identities of notify_participants domains,
    and its From addresses must be of those domains."""
    variable = variables(REPLIES)["sending_identity_arns"]
    assert "default" not in variable
    assert unquote(variable["type"]) == "map(string)"
    conditions_ = [unquote(v["condition"]) for v in variable["validation"]]
    assert conditions_[0] == "length(var.sending_identity_arns) >= 1"
    mail = statement(REPLIES, "outbox", "MailParticipants")
    assert condition_list(mail) == [
        (
            "StringLike",
            "ses:FromAddress",
            '[for domain in keys(var.sending_identity_arns) : "*@${domain}"]',
        )
    ]


def test_alarms_watch_the_replies_functions_and_the_dead_letter_queue():
    """Errors of webhook and outbox and a non-empty dead-letter queue raise alarms, when present."""
    folder = MODULES_BY_NAME["alarms"]
    errors = resource(folder, "aws_cloudwatch_metric_alarm", "more_errors")
    assert unquote(errors["for_each"]) == "var.more_function_names"
    assert (unquote(errors["namespace"]), unquote(errors["metric_name"])) == (
        "AWS/Lambda",
        "Errors",
    )
    assert unquote(errors["dimensions"]) == {"FunctionName": "${each.value}"}
    dead = resource(folder, "aws_cloudwatch_metric_alarm", "dead_letters")
    assert unquote(dead["for_each"]) == "var.dead_letter_queue_names"
    assert unquote(dead["metric_name"]) == "ApproximateNumberOfMessagesVisible"
    assert unquote(dead["dimensions"]) == {"QueueName": "${each.value}"}
    for alarm in (errors, dead):
        assert unquote(alarm["alarm_actions"]) == ["aws_sns_topic.this.arn"]
    call = modules_called(TERRAFORM)["alarms"]
    assert unquote(call["more_function_names"]) == "merge(module.replies[*].function_names ...)"
    assert unquote(call["dead_letter_queue_names"]) == (
        "merge([for replies in module.replies : {work = replies.dead_letter_queue_name}] ...)"
    )
    outputs = {labels[0]: body for labels, body in blocks(REPLIES, "output")}
    assert unquote(outputs["function_names"]["value"]) == {
        "webhook": "${aws_lambda_function.webhook.function_name}",
        "outbox": "${aws_lambda_function.outbox.function_name}",
    }


# Each role's item statements on the claims table: the actions, and the key prefixes
# (dynamodb:LeadingKeys, the partition key "id") they apply to. One table holds every kind of
# item, so a role may touch only the kinds its function reads or writes.
ITEM_GRANTS = {
    "function": {
        "ClaimMail": (
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["ticket-router#*"],
        ),
        "MapThreads": (["dynamodb:GetItem", "dynamodb:PutItem"], ["thread#*"]),
        # The shared GitHub rate limit, one item per credential.
        "LimitPostRate": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["ratelimit#*"],
        ),
        # When a claim last sent its POST, until GitHub's answer settles it.
        "RecordPostings": (
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
            ["posting#*"],
        ),
        "RecordParticipants": (["dynamodb:UpdateItem"], ["participants#*"]),
        # Who sent each mail, put before it is posted.
        "RecordAuthors": (["dynamodb:PutItem"], ["authored#*"]),
        # The decision log, a table of its own whose partitions are days.
        "RecordDecisions": (["dynamodb:PutItem"], ["day#*"]),
        # Only where a route sends notices.
        "LimitNotices": (["dynamodb:PutItem"], ["notice#*"]),
        "ReadSuppressions": (["dynamodb:GetItem"], ["suppressed#*"]),
    },
    "webhook": {
        "ClaimDeliveries": (
            ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["delivery#*"],
        ),
        "RemoveParticipants": (["dynamodb:UpdateItem"], ["participants#*"]),
    },
    "outbox": {
        "ClaimMail": (
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["mailed#*"],
        ),
        "ReadParticipants": (["dynamodb:GetItem", "dynamodb:UpdateItem"], ["participants#*"]),
        "ReadAuthors": (["dynamodb:GetItem"], ["authored#*"]),
        "SuppressAddresses": (["dynamodb:GetItem", "dynamodb:PutItem"], ["suppressed#*"]),
        "RecordSentMail": (["dynamodb:GetItem", "dynamodb:PutItem"], ["sent#*"]),
        "LimitPostRate": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["ratelimit#*"],
        ),
    },
}
# Where each role's policy document is.
ROLE_POLICIES = {
    "function": (MODULES_BY_NAME["function"], "this"),
    "webhook": (REPLIES, "webhook"),
    "outbox": (REPLIES, "outbox"),
}


def role_statements(role: str) -> list[dict[str, Any]]:
    """Every statement of a role's policy, the dynamic ones' content included."""
    folder, name = ROLE_POLICIES[role]
    [document] = [
        body
        for labels, body in blocks(folder, "data")
        if labels == ["aws_iam_policy_document", name]
    ]
    return [*document["statement"], *(content for _, content in notice_statements(document))]


def item_grants(role: str) -> dict[str, tuple[list[str], list[str]]]:
    """sid -> (sorted actions, LeadingKeys patterns) of the role's DynamoDB statements."""
    found = {}
    for body in role_statements(role):
        actions = sorted(unquote(body["actions"]))
        if not any(action.startswith("dynamodb:") for action in actions):
            continue
        patterns = [
            values
            for test, variable, values in condition_list(body)
            if (test, variable) == ("ForAllValues:StringLike", "dynamodb:LeadingKeys")
        ]
        found[unquote(body["sid"])] = (actions, patterns[0] if len(patterns) == 1 else [])
    return found


def string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: * any run of characters, ? one character, the rest literal."""
    parts = (
        ".*" if part == "*" else "." if part == "?" else re.escape(part)
        for part in re.split(r"([*?])", pattern)
    )
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


@pytest.mark.parametrize("role", ITEM_GRANTS)
def test_each_role_may_touch_only_its_own_kinds_of_item(role: str):
    """Every DynamoDB statement names its key prefixes (ForAllValues:StringLike on
    dynamodb:LeadingKeys) and requires the key to be there (Null false), on the claims table
    only, but the decision log's, on its own table."""
    assert item_grants(role) == ITEM_GRANTS[role]
    for body in role_statements(role):
        if not any(a.startswith("dynamodb:") for a in unquote(body["actions"])):
            continue
        table = "decision" if unquote(body["sid"]) == "RecordDecisions" else "idempotency"
        assert unquote(body["resources"]) == [f"var.{table}_table_arn"]
        assert "effect" not in body
        [(_, _, patterns)] = [c for c in condition_list(body) if c[0].startswith("ForAllValues")]
        assert condition_list(body) == [
            ("ForAllValues:StringLike", "dynamodb:LeadingKeys", patterns),
            ("Null", "dynamodb:LeadingKeys", ["false"]),
        ]
        # A prefix ends in "#": "thread#*" must not admit "threads-of-others#...".
        assert all(re.fullmatch(r"[a-z-]+#\*", pattern) for pattern in patterns)


def test_the_granted_prefixes_are_the_codes():
    """The prefixes in the policies are the ones the adapters write their keys under."""
    from handler.aws import (  # noqa: PLC0415
        claims,
        decision_log,
        deliveries,
        participants,
        postings,
        rate_limit,
        reach,
        threads,
    )
    from handler.outbound import notices  # noqa: PLC0415

    code = {
        claims._KEY_PREFIX,
        claims.SENT_KEY_PREFIX,
        deliveries._KEY_PREFIX,
        postings._KEY_PREFIX,
        decision_log._KEY_PREFIX,
        rate_limit._KEY_PREFIX,
        threads._KEY_PREFIX,
        participants._PARTICIPANTS_PREFIX,
        participants._SUPPRESSED_PREFIX,
        participants._AUTHORED_PREFIX,
        notices._KEY_PREFIX,
        reach.SENT_PREFIX,
    }
    granted = {
        pattern.removesuffix("#*")
        for grants in ITEM_GRANTS.values()
        for _, patterns in grants.values()
        for pattern in patterns
    }
    assert code == granted


class _Ses:
    """SES as the notifier calls it: a notice is sent."""

    def send_raw_email(self, **_: Any) -> dict[str, str]:
        return {"MessageId": "sent"}


def _claim_twice_and_release(claims: Any, key: str) -> None:
    """A claim taken, found taken, and one released after its work failed."""

    def failing() -> Any:
        raise RuntimeError("the work failed")

    posted = lambda: PostedComment(id=1, url="https://github.com/o/r/issues/5#issuecomment-1")  # noqa: E731
    deadline = Deadline.within(60)
    if isinstance(claims, DynamoDeliveries):
        claims.once(key, lambda: None)
        claims.once(key, lambda: None)
        with pytest.raises(RuntimeError):
            claims.once(key + "-failing", failing)
        return
    claims.once(key, posted, deadline)
    claims.once(key, posted, deadline)
    with pytest.raises(RuntimeError):
        claims.once(key + "-failing", failing, deadline)


def _take_turns(limit: DynamoPostLimit) -> None:
    """Turns taken, a hold recorded and read back."""
    limit.reserve(1.0, 1.0)
    limit.hold(30.0)
    limit.held_until()


def _record_posts(postings: DynamoPostings, key: str) -> None:
    """A POST recorded, read back, and settled by a refusal."""
    postings.sending(key, 1.0)
    postings.sent_at(key)
    postings.settled(key)


# A decision as the function records it.
DECIDED = record_of(
    Decision("7@issues.example.com", "reject", Reason.NO_ROUTE, "no route"),
    route=None,
    facts=NO_FACTS,
    where=Where("mail", "inbound/abc", "abc"),
    at=1_790_000_000.0,
    index=0,
)

PARTICIPANT = Participant(
    address="Ada@Example.org", domain="talk.example.com", prefix="", last_message_id="m@x"
)


# What each function does with each store its entry point builds: the calls are made on moto's
# table and their keys checked against the role's grants.
STORE_USES: dict[str, dict[str, Any]] = {
    "function": {
        "DynamoClaims": lambda c: _claim_twice_and_release(
            DynamoClaims(CLAIMS_TABLE, c, expires_after_seconds=3600), "mail#o/r#5"
        ),
        "DynamoPostLimit": lambda c: _take_turns(
            DynamoPostLimit(
                c,
                CLAIMS_TABLE,
                api_url="https://api.github.com",
                identity="default",
                limits=Limits(),
            )
        ),
        "DynamoPostings": lambda c: _record_posts(
            DynamoPostings(c, CLAIMS_TABLE, expires_after_seconds=3600), "o/r#5#mail"
        ),
        "DynamoThreads": lambda c: (
            DynamoThreads(c, CLAIMS_TABLE, expires_after_seconds=3600).remember("o/r", ["a@x"], 5),
            DynamoThreads(c, CLAIMS_TABLE, expires_after_seconds=3600).find("o/r", ["a@x"]),
        ),
        "DynamoParticipants": lambda c: (
            DynamoParticipants(c, CLAIMS_TABLE).add("o/r", 5, PARTICIPANT, 1.0),
            DynamoParticipants(c, CLAIMS_TABLE).remove("o/r", 5, "digest", 2.0),
        ),
        "DynamoAuthors": lambda c: DynamoAuthors(c, CLAIMS_TABLE).record(
            "0" * 32, Authorship("digest", "Ada")
        ),
        "DynamoSuppressions": lambda c: DynamoSuppressions(c, CLAIMS_TABLE).suppressed(["a@x.org"]),
        "DynamoDecisionLog": lambda c: DynamoDecisionLog(
            c, DECISION_TABLE, retention_days=30
        ).record([DECIDED]),
        "SesNotifier": lambda c: SesNotifier(
            cast(Any, _Ses()),
            c,
            CLAIMS_TABLE,
            scoped_ttl_seconds=3600,
            suppressions=DynamoSuppressions(c, CLAIMS_TABLE),
        ).send(
            Notice(
                reason=Reason.POSTED,
                to="someone@example.org",
                from_="5@issues.example.com",
                subject="Re: x",
                in_reply_to=None,
                text="posted",
            )
        ),
    },
    "webhook": {
        "DynamoDeliveries": lambda c: _claim_twice_and_release(
            DynamoDeliveries(c, CLAIMS_TABLE), "0b5e3c30-0000-11ef-8000-000000000000"
        ),
        "DynamoParticipants": lambda c: DynamoParticipants(c, CLAIMS_TABLE).remove(
            "o/r", 5, "digest", 2.0
        ),
    },
    "outbox": {
        "DynamoClaims": lambda c: _claim_twice_and_release(
            DynamoClaims(CLAIMS_TABLE, c, expires_after_seconds=3600, key_prefix=SENT_KEY_PREFIX),
            "mailed#o/r#5#comment#1",
        ),
        "DynamoParticipants": lambda c: (
            DynamoParticipants(c, CLAIMS_TABLE).of("o/r", 5),
            DynamoParticipants(c, CLAIMS_TABLE).introduced("o/r", 5, "digest"),
        ),
        "DynamoAuthors": lambda c: DynamoAuthors(c, CLAIMS_TABLE).of("5e" * 16),
        "DynamoSuppressions": lambda c: (
            DynamoSuppressions(c, CLAIMS_TABLE).suppress("a@x.org", "bounce"),
            DynamoSuppressions(c, CLAIMS_TABLE).suppressed(["a@x.org"]),
        ),
        "DynamoSentMail": lambda c: (
            DynamoSentMail(c, CLAIMS_TABLE).record(["ses-1"], SentComment("o/r", 5, 7)),
            DynamoSentMail(c, CLAIMS_TABLE).of("ses-1"),
        ),
        "DynamoPostLimit": lambda c: _take_turns(
            DynamoPostLimit(
                c,
                CLAIMS_TABLE,
                api_url="https://api.github.com",
                identity="default",
                limits=Limits(),
            )
        ),
    },
}
ENTRY_POINTS = {
    "function": "handler.lambda_function",
    "webhook": "handler.webhook_function",
    "outbox": "handler.outbox_function",
}


@pytest.mark.parametrize("role", STORE_USES)
def test_the_stores_exercised_are_those_the_function_builds(role: str):
    """The table above covers every store the entry point's code constructs."""
    built = set(re.findall(r"\b(Dynamo\w+|SesNotifier)\(", handler_code(ENTRY_POINTS[role])))
    assert built - {"DynamoDBPersistenceLayer"} == set(STORE_USES[role])


@pytest.mark.parametrize("role", STORE_USES)
def test_every_key_the_code_writes_is_granted_to_its_role(role: str, dynamodb: Any):
    """Each item call the function's stores make, run against moto, is allowed by one of the
    role's statements in the Terraform (action and key prefix), and every prefix granted is
    used."""
    calls: list[tuple[str, str]] = []
    create_decision_table(dynamodb)

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        # The partition key: the claims table's "id", the decision table's "day".
        name = HASH_KEY if params.get("TableName") == DECISION_TABLE else "id"
        key = (params.get("Key") or params.get("Item") or {})[name]["S"]
        calls.append((f"dynamodb:{model.name}", key))

    dynamodb.meta.events.register("before-parameter-build.dynamodb", record)
    for use in STORE_USES[role].values():
        use(dynamodb)
    grants = item_grants(role).values()
    for action, key in calls:
        assert any(
            action in actions and any(string_like(pattern, key) for pattern in patterns)
            for actions, patterns in grants
        ), (action, key)
    used = {
        pattern
        for action, key in calls
        for actions, patterns in grants
        for pattern in patterns
        if action in actions and string_like(pattern, key)
    }
    assert used == {pattern for _, patterns in grants for pattern in patterns}


def test_string_like_is_iams():
    """The matcher the check above uses: * and ? only, everything else literal."""
    assert string_like("thread#*", "thread#o/r#abc")
    assert not string_like("thread#*", "threads#o/r")
    assert not string_like("thread#*", "xthread#1")
    assert string_like("*@a.example.com", "5@a.example.com")
    assert not string_like("*@a.example.com", "5@a.example.com.evil.net")
    assert not string_like("*@a.example.com", "5@evila.example.com")
    assert string_like("a?c", "abc")
    assert not string_like("a.c", "abc")


SENDING_ROUTES = """\
defaults: {notify: false}
routes:
  - {domain: Talk.Example.com., repo: o/b, allowed_senders: [a.org], notify_participants: true}
  - {domain: notes.example.com, prefix: Ask-, repo: o/d, allowed_senders: [a.org], confirm: true}
  - {domain: quiet.example.com, repo: o/e, allowed_senders: [a.org]}
"""


def test_mail_is_sent_from_addresses_the_conditions_admit():
    """The From addresses the code builds for updates (a participant's issue address) and
    notices (the issue address written to) fall under the ses:FromAddress patterns Terraform
    makes of the same routes file, and no other route's domain does."""
    updates = [f"*@{domain}" for domain in participant_domains(SENDING_ROUTES)]
    notices = [f"*@{domain}" for domain in notice_domains(SENDING_ROUTES)]
    assert (updates, notices) == (["*@talk.example.com"], ["*@notes.example.com"])
    routes = parse_routes(SENDING_ROUTES, "routes.yaml")
    talk, notes, quiet = routes.routes
    joined = Participant(
        address="ada@a.org", domain=talk.domain, prefix=talk.prefix, last_message_id=None
    )
    assert any(string_like(p, joined.issue_address(7)) for p in updates)
    # What a notice is sent from: the issue address the sender wrote to, as the route reads it.
    written = "ASK-7@Notes.Example.com"
    target = routes.lookup(written)
    assert isinstance(target, Target)
    assert target.route is notes
    opened_from = f"{notes.prefix}{target.issue}@{notes.domain}"
    assert any(string_like(p, opened_from) for p in notices)
    assert any(string_like(p, written.lower()) for p in notices)
    assert not any(string_like(p, f"7@{quiet.domain}") for p in updates + notices)


# `terraform test` needs the AWS provider, which init takes from a local mirror only (as
# `make tf-check`'s validate does): TF_PLUGIN_DIR, else /opt/tf-plugins when it exists.
TERRAFORM_BIN = shutil.which("terraform")
PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR") or "/opt/tf-plugins")


# A routes file for the whole deployment's test: one plain route, so no replies by mail (whose
# identity ARNs a mocked provider cannot make up).
PLAIN_ROUTES = (
    "routes:\n  - {domain: issues.example.com, repo: o/r, allowed_senders: [example.org]}\n"
)
# One that shares settings through defaults, an x- anchor and a merge key.
SHARED_ROUTES = """\
x-quiet: &quiet {notify: false, token_secret: quiet-token}
defaults:
  allowed_senders: [example.org]
  notify: false
  token_secret: shared-token
routes:
  - {domain: A.example.com., repo: o/a}
  - {domain: b.example.com, repo: o/b, notify: true}
  - {<<: *quiet, domain: c.example.com, repo: o/c, confirm: true}
"""
# Routes linking files: in S3 (through defaults, and two retentions, one repeated), on GitHub
# with and without a retention, and a route that lists them (whose settings count for nothing).
FILES_ROUTES = """\
defaults:
  allowed_senders: [example.org]
  attachments: {mode: link, storage: s3, retention_days: 30}
routes:
  - {domain: a.example.com, repo: o/a}
  - {domain: b.example.com, repo: o/b, attachments: link}
  - {domain: c.example.com, repo: o/c, attachments: {mode: link, storage: s3, retention_days: 365}}
  - {domain: d.example.com, repo: o/d, attachments: {mode: link, retention_days: 90}}
  - {domain: e.example.com, repo: o/e, attachments: {mode: list, storage: s3, retention_days: 7}}
  - {domain: f.example.com, repo: o/f, attachments: {mode: link, storage: s3, retention_days: 30}}
"""
# Files committed to GitHub only, kept 90 days: the sweep's schedule, no bucket.
SWEEP_ROUTES = (
    "routes:\n  - {domain: issues.example.com, repo: o/r, allowed_senders: [example.org],"
    " attachments: {mode: link, retention_days: 90}}\n"
)
# One whose domain is internationalised, written in Unicode (refused: xn-- form only).
IDN_ROUTES = (
    "routes:\n  - {domain: tickets.münchen.de, repo: o/r, allowed_senders: [example.org]}\n"
)
# And one with more domains than an SES receipt rule takes (100).
MANY_ROUTES = "routes:\n" + "".join(
    f"  - {{domain: d{index:03d}.example.com, repo: o/r, allowed_senders: [example.org]}}\n"
    for index in range(150)
)
needs_terraform = pytest.mark.skipif(
    TERRAFORM_BIN is None or not PLUGIN_DIR.is_dir(),
    reason="terraform test needs terraform and a local provider mirror (TF_PLUGIN_DIR)",
)


def terraform(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`terraform <arguments>` in ``directory``, without the user's CLI configuration."""
    assert TERRAFORM_BIN is not None
    environment = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(  # noqa: S603 - terraform from the PATH, fixed arguments
        [TERRAFORM_BIN, f"-chdir={directory}", *arguments, "-no-color"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def terraform_init_offline(directory: Path) -> None:
    """`terraform init` taking the AWS provider from the local mirror only."""
    init = terraform(
        directory, "init", "-backend=false", "-input=false", f"-plugin-dir={PLUGIN_DIR}"
    )
    assert init.returncode == 0, init.stdout + init.stderr


def terraform_test(copy: Path, test_file: str) -> None:
    """`terraform test` of one tests/terraform/ file in ``copy``, a copy of a configuration."""
    (copy / "tests").mkdir()
    shutil.copy(TESTS / "terraform" / test_file, copy / "tests")
    terraform_init_offline(copy)
    result = terraform(copy, "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout


TESTED_MODULES = [
    "function",
    "replies",
    "mail_queue",
    "mail_receiving",
    "mail_storage",
    "alarms",
    "decision_log",
    "attachments",
]


def test_every_terraform_test_file_is_run():
    """Each tests/terraform/*.tftest.hcl is run below: one per tested module, main for the root."""
    files = {path.name for path in (TESTS / "terraform").glob("*.tftest.hcl")}
    assert files == {f"{module}.tftest.hcl" for module in [*TESTED_MODULES, "main"]}


@needs_terraform
@pytest.mark.parametrize("module", TESTED_MODULES)
def test_the_provider_renders_the_module(module: str, tmp_path: Path):
    """tests/terraform/<module>.tftest.hcl in a copy of the module, every resource overridden or
    the provider mocked (nothing reaches AWS): the policies as the provider writes them hold their
    conditions, the queues and alarms their settings, the validations refuse bad inputs."""
    copy = tmp_path / module
    shutil.copytree(MODULES_BY_NAME[module], copy)
    # The stand-in package the functions hash, and the routes hash the mail function checks.
    (copy / "package.zip").write_bytes(b"")
    (copy / "package.zip.routes-sha256").write_text("0" * 64 + "\n", encoding="utf-8")
    terraform_test(copy, f"{module}.tftest.hcl")


@needs_terraform
def test_the_whole_deployment_plans_and_applies_against_a_mocked_provider(tmp_path: Path):
    """tests/terraform/main.tftest.hcl in a copy of terraform/, beside routes files (one route;
    150 domains; routes storing files) and stand-in packages built from them: every module wired
    for a new account and for one with a rule set and an identity, the outputs name the mail
    queues, the attachments bucket exists only for routes storing files in S3."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy)
    for routes_name, package_name, text in [
        ("routes.yaml", "package.zip", PLAIN_ROUTES),
        ("routes-many.yaml", "package-many.zip", MANY_ROUTES),
        ("routes-shared.yaml", "package-shared.zip", SHARED_ROUTES),
        ("routes-idn.yaml", "package-idn.zip", IDN_ROUTES),
        ("routes-files.yaml", "package-files.zip", FILES_ROUTES),
        ("routes-sweep.yaml", "package-sweep.zip", SWEEP_ROUTES),
    ]:
        routes = copy / routes_name
        routes.write_text(text, encoding="utf-8")
        (copy / package_name).write_bytes(b"")
        digest = hashlib.sha256(routes.read_bytes()).hexdigest()
        (copy / f"{package_name}.routes-sha256").write_text(digest + "\n", encoding="utf-8")
    terraform_test(copy, "main.tftest.hcl")


def test_the_teardown_guard_depends_on_every_other_module():
    """Destroy deletes the guard before anything else of the deployment, and it refuses until
    the mail bucket may be emptied and the claims table is unprotected (as applied)."""
    calls = modules_called(TERRAFORM)
    guard = calls.pop("teardown_guard")
    assert unquote(guard["depends_on"]) == [f"module.{name}" for name in calls]
    assert unquote(guard["protected"]) == (
        "!var.force_destroy_mail_bucket || var.protect_claims_table"
    )
    assert "force_destroy_mail_bucket = true" in unquote(guard["message"])
    assert "protect_claims_table = false" in unquote(guard["message"])


GUARDED_ROOT = """
variable "protected" {
  type = bool
}

# Stands for the deployment: a resource the guard depends on, as the root's modules are.
resource "terraform_data" "mail_bucket_policy" {
  input = "TLS only"
}

module "guard" {
  source = "./guard"

  protected  = var.protected
  message    = "Set force_destroy_mail_bucket = true, apply, then destroy."
  depends_on = [terraform_data.mail_bucket_policy]
}
"""


@pytest.mark.skipif(TERRAFORM_BIN is None, reason="needs terraform")
def test_a_protected_deployment_refuses_destroy_before_deleting_anything(tmp_path: Path):
    """The real guard module (terraform_data: no provider, no AWS), applied and destroyed: while
    protected, destroy fails with the message and the state keeps everything; once the flags are
    applied, the same destroy deletes everything."""
    shutil.copytree(MODULES_BY_NAME["teardown_guard"], tmp_path / "guard")
    (tmp_path / "main.tf").write_text(GUARDED_ROOT, encoding="utf-8")

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return terraform(tmp_path, *arguments)

    def state() -> list[str]:
        return run("state", "list").stdout.split()

    assert run("init", "-input=false").returncode == 0
    everything = ["terraform_data.mail_bucket_policy", "module.guard.terraform_data.this"]
    assert run("apply", "-auto-approve", "-var=protected=true").returncode == 0
    assert sorted(state()) == sorted(everything)

    refused = run("destroy", "-auto-approve", "-var=protected=true")
    assert refused.returncode != 0
    assert "Set force_destroy_mail_bucket = true, apply, then destroy." in refused.stdout + (
        refused.stderr
    )
    assert sorted(state()) == sorted(everything)

    # The flag only takes effect once applied: the guard's destroy reads the state.
    assert run("destroy", "-auto-approve", "-var=protected=false").returncode != 0
    assert run("apply", "-auto-approve", "-var=protected=false").returncode == 0
    assert sorted(state()) == sorted(everything)
    assert run("destroy", "-auto-approve", "-var=protected=false").returncode == 0
    assert state() == []


CALLER = """
provider "aws" {
  alias  = "deploy"
  region = "eu-west-1"
}

resource "terraform_data" "before" {}

module "ticket_router" {
  source   = "./terraform"
  count  = 1
  providers = {
    aws = aws.deploy
  }
  depends_on = [terraform_data.before]

  routes_file  = "${path.module}/terraform/routes.yaml"
  package_file = "${path.module}/terraform/package.zip"
}
"""


@needs_terraform
def test_a_caller_may_pass_its_provider_and_use_count_and_depends_on(tmp_path: Path):
    """`terraform validate` of a configuration that passes an aliased provider to the module
    and puts count and depends_on on it: Terraform refuses both for a module that configures a
    provider of its own."""
    shutil.copytree(TERRAFORM, tmp_path / "terraform")
    (tmp_path / "terraform" / "routes.yaml").write_text(PLAIN_ROUTES, encoding="utf-8")
    (tmp_path / "main.tf").write_text(CALLER, encoding="utf-8")
    terraform_init_offline(tmp_path)
    result = terraform(tmp_path, "validate")
    assert result.returncode == 0, result.stdout + result.stderr
