data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# A customer-managed key because CloudWatch cannot publish to a topic encrypted with the
# AWS-managed SNS key: its key policy does not let cloudwatch.amazonaws.com use it.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy: "*" is this key only, and the account-root statement is KMS's default policy, without which the key could not be managed.
  #checkov:skip=CKV_AWS_111:A key policy: "*" is this key only; CloudWatch's use of it is limited to this account by aws:SourceAccount.
  #checkov:skip=CKV_AWS_356:A key policy names no other resource: "*" stands for the key the policy is attached to.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchPublishesAlarms"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.name} SNS topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = aws_kms_key.this.arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Any invocation that fails (GitHub down, a mail that cannot be read) is worth a look.
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "ticket-router invocations failed; failed mails are retried, then land in the failure queue."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A message in the failure queue is a mail that was not posted after every retry.
resource "aws_cloudwatch_metric_alarm" "failed_mail" {
  alarm_name          = "${var.name}-failed-mail"
  alarm_description   = "Mails wait in the failure queue; see the README's section on replaying them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.failure_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# The webhook and outbox functions (replies by mail): an error is a delivery GitHub saw fail or a
# batch whose items are retried and, in the end, given up on.
resource "aws_cloudwatch_metric_alarm" "more_errors" {
  for_each = var.more_function_names

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "The ${each.value} function failed; see its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A message in a dead-letter queue is work given up on after every retry.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = var.dead_letter_queue_names

  alarm_name          = "${var.name}-${each.key}-dead-letters"
  alarm_description   = "Work items wait in ${each.value} after every retry; redrive them once the cause is fixed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}
