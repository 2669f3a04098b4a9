# Replies by mail: GitHub webhooks -> webhook function -> work queue -> outbox function -> SES.
# The same work queue takes SES's bounce and complaint events (the configuration set every send
# names, through the feedback topic), so that one worker records who must not be mailed again.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # Built from names, so that the topic policy admits the set before the set exists.
  configuration_set_name = "${var.name}-mail"
  configuration_set_arn  = "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:${local.account_id}:configuration-set/${local.configuration_set_name}"
  # Lambda's advice for SQS event sources: a visibility timeout of at least six times the
  # function's timeout, so that a batch being retried is not handed out twice meanwhile.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
  visibility_timeout_seconds = 6 * var.outbox_timeout
  # How long the outbox holds a mail's claim (CLAIM_HOLD_SECONDS): past the last time the queue
  # can hand the item out (each receive hides it for the visibility timeout) and that
  # invocation's own run, so that no redelivery finds the claim expired and mails again.
  claim_hold_seconds = local.visibility_timeout_seconds * var.max_receive_count + var.outbox_timeout
}

# Work items the outbox gave up on after max_receive_count receipts wait here, with their body,
# for 14 days (SQS's longest retention) to be looked at and redriven.
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-work-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# SSE-SQS, not SSE-KMS with the AWS-managed aws/sqs key: SNS cannot deliver to a queue under
# that key, whose policy admits no service principal.
# https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html
resource "aws_sqs_queue" "work" {
  name                       = "${var.name}-work"
  visibility_timeout_seconds = local.visibility_timeout_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only the work queue may move messages into the dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.work.arn]
  })
}

# The functions send to the queue with their roles; the one other sender is the feedback topic.
data "aws_iam_policy_document" "work_queue" {
  statement {
    sid       = "FeedbackTopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.work.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.feedback.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "work" {
  queue_url = aws_sqs_queue.work.id
  policy    = data.aws_iam_policy_document.work_queue.json
}

# A customer-managed key because SES cannot publish to a topic encrypted with the AWS-managed
# SNS key: its key policy does not let ses.amazonaws.com use it.
# https://docs.aws.amazon.com/ses/latest/dg/configure-sns-notifications.html
data "aws_iam_policy_document" "feedback_key" {
  #checkov:skip=CKV_AWS_109:A key policy: "*" is this key only, and the account-root statement is KMS's default policy, without which the key could not be managed.
  #checkov:skip=CKV_AWS_111:A key policy: "*" is this key only; SES's use of it is limited to this account by aws:SourceAccount.
  #checkov:skip=CKV_AWS_356:A key policy names no other resource: "*" stands for the key the policy is attached to.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "SESPublishesFeedback"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "feedback" {
  description             = "Encrypts the ${var.name} SES feedback topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.feedback_key.json
}

resource "aws_kms_alias" "feedback" {
  name          = "alias/${var.name}-ses-feedback"
  target_key_id = aws_kms_key.feedback.key_id
}

resource "aws_sns_topic" "feedback" {
  name              = "${var.name}-ses-feedback"
  kms_master_key_id = aws_kms_key.feedback.arn
}

# SES publishes the events of our configuration set only: SES names the set as aws:SourceArn when
# it publishes them. A topic policy is what lets it publish at all.
# https://docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination-sns.html
data "aws_iam_policy_document" "feedback_topic" {
  statement {
    sid       = "SESPublishesFeedback"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.feedback.arn]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.configuration_set_arn]
    }
  }
}

resource "aws_sns_topic_policy" "feedback" {
  arn    = aws_sns_topic.feedback.arn
  policy = data.aws_iam_policy_document.feedback_topic.json
}

# Raw delivery: the queue message is the SES notification itself, not SNS's envelope around it.
resource "aws_sns_topic_subscription" "feedback" {
  topic_arn            = aws_sns_topic.feedback.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.work.arn
  raw_message_delivery = true

  # Messages published before the queue admits the topic would be lost.
  depends_on = [aws_sqs_queue_policy.work]
}

# Feedback comes from the mail sent through this set (SES_CONFIGURATION_SET of the outbox and
# the mail function), not from the identities' notification settings: no identity is written,
# so identities adopted from the account keep theirs and destroy resets none.
resource "aws_ses_configuration_set" "this" {
  name = local.configuration_set_name

  # Updates carry issue comments, maybe a private repository's: they leave over TLS only, as
  # mail comes in (the receipt rule requires TLS); SES delivers nothing to a server without it.
  # https://docs.aws.amazon.com/ses/latest/APIReference/API_DeliveryOptions.html
  delivery_options {
    tls_policy = "Require"
  }
}

# Bounces (permanent, or transient once SES gave up) and complaints; deliveries, sends, opens and
# the rest need no action and are not published.
# https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
resource "aws_ses_event_destination" "feedback" {
  name                   = "feedback"
  configuration_set_name = aws_ses_configuration_set.this.name
  enabled                = true
  matching_types         = ["bounce", "complaint"]

  sns_destination {
    topic_arn = aws_sns_topic.feedback.arn
  }

  # Events published before SES may publish to the topic would be lost.
  depends_on = [aws_sns_topic_policy.feedback]
}
