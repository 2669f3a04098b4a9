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

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/tr" }
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

variables {
  name         = "tr-test"
  routes_file  = "routes.yaml"
  package_file = "package.zip"
}

run "deploys" {
  command = apply

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
