# The whole deployment, planned and applied against a mocked AWS provider (tests/test_terraform.py
# runs this with `terraform test` in a copy of terraform/, beside a routes file and a stand-in
# package built from it): every expression of the root and its modules evaluates, the
# validations refuse bad inputs, and the outputs name the queues the operator uses. What AWS
# renders (the policies) is checked per module, with the real provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }

  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  # The provider validates ARNs where it takes them: the mocks give well-formed ones.
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:topic" }
  }

  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:queue", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/queue" }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/role" }
  }

  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:function" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::bucket" }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/claims" }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tr/github-token-AbCdEf" }
  }

  mock_resource "aws_cloudfront_distribution" {
    defaults = { arn = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE", id = "E2QWRUHEXAMPLE", domain_name = "d111111abcdef8.cloudfront.net" }
  }

  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/tr-test-attachment-sweep" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/tr" }
  }

  # The region already receives mail with its own active rule set.
  mock_data "aws_ses_active_receipt_rule_set" {
    defaults = { rule_set_name = "corp-inbound" }
  }

  mock_data "aws_sesv2_email_identity" {
    defaults = { arn = "arn:aws:ses:eu-west-1:123456789012:identity/issues.example.com" }
  }

  mock_resource "aws_sesv2_email_identity" {
    defaults = {
      arn                     = "arn:aws:ses:eu-west-1:123456789012:identity/created"
      dkim_signing_attributes = { tokens = ["token1", "token2", "token3"] }
    }
  }
}

override_resource {
  target = module.mail_queue.aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:tr-test-mail", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-test-mail" }
}

override_resource {
  target = module.mail_queue.aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:tr-test-mail-dead", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-test-mail-dead" }
}

override_resource {
  target = module.mail_queue.aws_sns_topic.this
  values = { arn = "arn:aws:sns:eu-west-1:123456789012:tr-test-mail" }
}

# The account already receives mail with its active rule set "corp-inbound": by default the
# rules join it, as they should there.
variables {
  name                   = "tr-test"
  routes_file            = "routes.yaml"
  package_file           = "package.zip"
  existing_rule_set_name = "corp-inbound"
  # What lets the test's own destroy pass the teardown guard.
  force_destroy_mail_bucket = true
  protect_claims_table      = false
}

# A new, dedicated account: our own set, activated (it is already the active one: nothing to
# warn about), our own identity.
run "deploys" {
  command = apply

  override_data {
    target = data.aws_ses_active_receipt_rule_set.current
    values = { rule_set_name = "tr-test" }
  }

  variables {
    existing_rule_set_name = null
    activate_rule_set      = true
  }

  assert {
    condition = jsonencode({
      rule_set      = output.rule_set_name
      rules         = output.receipt_rule_names
      policy_arns   = local.receipt_rule_arns
      identity_arns = output.identity_arns
      dns_records   = output.dns_records
      }) == jsonencode({
      rule_set      = "tr-test"
      rules         = ["tr-test-deliver"]
      policy_arns   = ["arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr-test:receipt-rule/tr-test-deliver"]
      identity_arns = { "issues.example.com" = "arn:aws:ses:eu-west-1:123456789012:identity/created" }
      dns_records = { "issues.example.com" = [
        { name = "issues.example.com", type = "MX", value = "10 inbound-smtp.eu-west-1.amazonaws.com" },
        { name = "token1._domainkey.issues.example.com", type = "CNAME", value = "token1.dkim.amazonses.com" },
        { name = "token2._domainkey.issues.example.com", type = "CNAME", value = "token2.dkim.amazonses.com" },
        { name = "token3._domainkey.issues.example.com", type = "CNAME", value = "token3.dkim.amazonses.com" },
      ] }
    })
    error_message = "A dedicated account gets its own set and its own identity (with its DKIM records); the bucket and topic policies admit the rule in that set."
  }

  assert {
    condition = jsonencode({
      failure_queue     = output.failure_queue
      failure_queue_url = output.failure_queue_url
      mail_queue        = output.mail_queue
      mail_queue_url    = output.mail_queue_url
      mail_topic_arn    = output.mail_topic_arn
      }) == jsonencode({
      failure_queue     = "tr-test-mail-dead"
      failure_queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-test-mail-dead"
      mail_queue        = "tr-test-mail"
      mail_queue_url    = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-test-mail"
      mail_topic_arn    = "arn:aws:sns:eu-west-1:123456789012:tr-test-mail"
    })
    error_message = "failure_queue and failure_queue_url name the mail queue's dead-letter queue, which replay reads."
  }

  assert {
    condition     = output.work_queue == null && output.webhook_url == null
    error_message = "Without a route that notifies participants there are no replies by mail."
  }

  assert {
    condition     = output.decision_table_name == "tr-test-decisions" && output.idempotency_table == "tr-test-claims"
    error_message = "The decision log is a table of its own, named by decision_table_name for `ticket-router why`: ${output.decision_table_name}."
  }
}

# The decision log's retention: whole days, at least one, at most ten years.
run "a_decision_log_kept_no_days" {
  command = plan

  variables {
    decision_log_retention_days = 0
  }

  expect_failures = [var.decision_log_retention_days]
}

run "a_decision_log_kept_part_of_a_day" {
  command = plan

  variables {
    decision_log_retention_days = 1.5
  }

  expect_failures = [var.decision_log_retention_days]
}

# An account with an active rule set and an identity of its own: the rule joins that set after
# its rule "spam-filter", the identity is adopted; nothing of theirs is created or changed.
run "an_account_with_a_rule_set_and_an_identity" {
  command = plan

  variables {
    receipt_rule_after  = "spam-filter"
    existing_identities = ["issues.example.com"]
    route53_zone_ids    = { "issues.example.com" = "Z0123456789ABCDEFGHIJ" }
  }

  assert {
    condition = jsonencode({
      rule_set      = output.rule_set_name
      policy_arns   = local.receipt_rule_arns
      identity_arns = output.identity_arns
      dns_records   = output.dns_records
      }) == jsonencode({
      rule_set      = "corp-inbound"
      policy_arns   = ["arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-test-deliver"]
      identity_arns = { "issues.example.com" = "arn:aws:ses:eu-west-1:123456789012:identity/issues.example.com" }
      dns_records   = { "issues.example.com" = [{ name = "issues.example.com", type = "MX", value = "10 inbound-smtp.eu-west-1.amazonaws.com" }] }
    })
    error_message = "The rule joins corp-inbound, which the bucket and topic policies admit; the identity is the adopted one, whose DKIM records stay its owner's."
  }
}

run "more_domains_than_a_rule_takes" {
  command = plan

  variables {
    routes_file  = "routes-many.yaml"
    package_file = "package-many.zip"
  }

  assert {
    condition = jsonencode({
      rules       = local.rules
      names       = output.receipt_rule_names
      policy_arns = local.receipt_rule_arns
      }) == jsonencode({
      rules = [
        { name = "tr-test-deliver", recipients = [for index in range(100) : format("d%03d.example.com", index)] },
        { name = "tr-test-deliver-2", recipients = [for index in range(100, 150) : format("d%03d.example.com", index)] },
      ]
      names = ["tr-test-deliver", "tr-test-deliver-2"]
      policy_arns = [
        "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-test-deliver",
        "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-test-deliver-2",
      ]
    })
    error_message = "150 domains: two rules of 100 and 50, both admitted by the bucket and topic policies."
  }
}

# A set of our own that nobody activates: no mail would arrive, and the plan says so.
run "a_set_of_our_own_left_inactive" {
  command = plan

  variables {
    existing_rule_set_name = null
  }

  expect_failures = [check.active_receipt_rule_set]
}

# Activating our set in place of the active "corp-inbound": the plan warns.
run "activation_in_place_of_another_set" {
  command = plan

  variables {
    existing_rule_set_name = null
    activate_rule_set      = true
  }

  expect_failures = [check.active_receipt_rule_set]
}

# Our set is active (the former default activated it) but activate_rule_set is false: the apply
# would deactivate it, and the plan warns.
run "deactivation_of_our_active_set" {
  command = plan

  override_data {
    target = data.aws_ses_active_receipt_rule_set.current
    values = { rule_set_name = "tr-test" }
  }

  variables {
    existing_rule_set_name = null
  }

  expect_failures = [check.active_receipt_rule_set]
}

run "activation_of_an_existing_set" {
  command = plan

  variables {
    activate_rule_set = true
  }

  expect_failures = [var.activate_rule_set]
}

# (Our set is the active one, so that only the refusal fails.)
run "a_position_in_a_set_of_our_own" {
  command = plan

  override_data {
    target = data.aws_ses_active_receipt_rule_set.current
    values = { rule_set_name = "tr-test" }
  }

  variables {
    existing_rule_set_name = null
    activate_rule_set      = true
    receipt_rule_after     = "spam-filter"
  }

  expect_failures = [var.receipt_rule_after]
}

run "a_reservation_of_one_is_below_any_mapping" {
  command = plan

  variables {
    reserved_concurrency = 1
  }

  expect_failures = [var.reserved_concurrency]
}

run "bad_queue_settings" {
  command = plan

  variables {
    mail_max_concurrency   = 1
    mail_max_receive_count = 0
  }

  expect_failures = [var.mail_max_concurrency, var.mail_max_receive_count]
}

run "bad_rates" {
  command = plan

  variables {
    github_posts_per_minute = -80
    github_posts_per_hour   = 12.5
  }

  expect_failures = [var.github_posts_per_minute, var.github_posts_per_hour]
}

run "no_limits" {
  command = plan

  variables {
    github_posts_per_minute = 0
    github_posts_per_hour   = 0
  }
}

run "raw_mail_under_a_created_key_logged_to_a_created_bucket" {
  command = apply

  assert {
    condition     = output.mail_kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" && output.access_log_bucket == "tr-test-mail-logs-123456789012"
    error_message = "By default the mail key and the log bucket are created: ${output.mail_kms_key_arn}, ${output.access_log_bucket}."
  }
}

run "raw_mail_under_a_brought_key_logged_to_a_named_bucket" {
  command = apply

  variables {
    mail_kms_key_arn       = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    mail_readers           = ["arn:aws:iam::123456789012:role/operator"]
    access_log_bucket_name = "corp-access-logs"
  }

  assert {
    condition     = output.mail_kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" && output.access_log_bucket == "corp-access-logs"
    error_message = "A brought key and a named log bucket are used: ${output.mail_kms_key_arn}, ${output.access_log_bucket}."
  }
}

run "a_reader_that_is_not_an_iam_principal" {
  command = plan

  variables {
    mail_readers = ["arn:aws:sts::123456789012:assumed-role/operator/session"]
  }

  expect_failures = [var.mail_readers]
}

# routes.yaml with defaults, an x- anchor and a merge key (tests/test_terraform.py writes
# routes-shared.yaml): each route takes the defaults it does not give itself, and notify is on
# unless a route or defaults say false. tests/test_terraform_routes.py compares more of this
# reading with the handler's.
run "routes_with_defaults_and_anchors" {
  command = plan

  variables {
    routes_file  = "routes-shared.yaml"
    package_file = "package-shared.zip"
  }

  assert {
    condition = jsonencode({
      domains        = local.domains
      notice_domains = local.notice_domains
      route_secrets  = local.route_secrets
      }) == jsonencode({
      domains        = ["a.example.com", "b.example.com", "c.example.com"]
      notice_domains = ["b.example.com", "c.example.com"]
      route_secrets  = ["shared-token", "quiet-token"]
    })
    error_message = "Defaults and anchors read as the handler reads them: ${jsonencode([local.domains, local.notice_domains, local.route_secrets])}."
  }
}

# An internationalised domain written in Unicode: refused before anything is planned, as
# `ticket-router check` refuses it (Terraform cannot compute the xn-- form that check prints).
run "an_internationalised_domain_is_refused" {
  command = plan

  variables {
    routes_file  = "routes-idn.yaml"
    package_file = "package-idn.zip"
  }

  expect_failures = [var.routes_file]
}

# The rejection-spike alarm evaluates at most 3 hours of data (Metrics Insights): refused here,
# before CloudWatch would refuse it in the middle of an apply.
run "a_rejection_spike_window_longer_than_cloudwatch_evaluates" {
  command = plan

  variables {
    rejection_spike_minutes = 240
  }

  expect_failures = [var.rejection_spike_minutes]
}

# Without a route that links files, nothing of the attachments exists: no bucket, no
# distribution, no schedule.
run "no_attachments" {
  command = plan

  assert {
    condition     = length(module.attachments) == 0 && !local.attachments_sweep && output.attachments_bucket == null && output.attachments_url == null && output.attachments_distribution_id == null
    error_message = "Routes that list attachments make no bucket and no sweep."
  }
}

# Routes linking files (tests/test_terraform.py writes routes-files.yaml): the defaults' S3
# storage and the routes' own, a string and maps, a listing route's settings ignored.
run "files_in_s3_and_on_github" {
  command = apply

  variables {
    routes_file  = "routes-files.yaml"
    package_file = "package-files.zip"
  }

  assert {
    condition = jsonencode({
      retention = local.attachments_retention_days
      sweep     = local.attachments_sweep
      bucket    = output.attachments_bucket
      url       = output.attachments_url
      id        = output.attachments_distribution_id
      arn       = module.attachments[0].bucket_arn
      }) == jsonencode({
      retention = [30, 365]
      sweep     = true
      bucket    = "tr-test-files-123456789012"
      url       = "https://d111111abcdef8.cloudfront.net"
      id        = "E2QWRUHEXAMPLE"
      arn       = "arn:aws:s3:::bucket"
    })
    error_message = "The S3 routes' retentions (30 once, 365; the listing route's 7 not), the sweep for the GitHub route kept 90 days, the bucket <name>-files-<account> served at its distribution: ${jsonencode(local.attachments)}"
  }
}

# Files committed to GitHub only, with a retention: the daily sweep, and no bucket.
run "files_on_github_only" {
  command = plan

  variables {
    routes_file  = "routes-sweep.yaml"
    package_file = "package-sweep.zip"
  }

  assert {
    condition     = local.attachments_sweep && length(module.attachments) == 0 && output.attachments_bucket == null
    error_message = "A GitHub route with retention_days gets the sweep's schedule and no bucket."
  }
}
