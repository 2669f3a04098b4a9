# Mail waiting for GitHub waits here, not in Lambda's two asynchronous retries: SES's S3 action
# notifies the topic once the mail is stored, the topic delivers the notification (its receipt
# verdicts and the object's bucket and key) to the mail queue, and the function reads the queue.
# A mail that fails is received again after the backoff the function sets (its visibility), and
# after max_receive_count receives it moves to the dead-letter queue.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # Lambda's advice for SQS event sources: a visibility timeout of at least six times the
  # function's timeout, so that a batch still being worked on is not handed out twice.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
  visibility_timeout_seconds = 6 * var.function_timeout
}

# Mail given up on waits here for 14 days, SQS's longest retention, to be replayed. A standard
# queue keeps a message's first enqueue time, so the time it spent in the mail queue (about a day
# with the function's backoff) counts against these 14 days.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-dead"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# Four days: a day of GitHub outage (or of retry-after windows) and a weekend to notice it.
# SSE-SQS, not SSE-KMS with the AWS-managed aws/sqs key, whose policy admits no service
# principal: SNS could not deliver to the queue.
# https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html
resource "aws_sqs_queue" "this" {
  name                       = var.name
  message_retention_seconds  = 345600
  visibility_timeout_seconds = local.visibility_timeout_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only the mail queue may move messages into the dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

# A customer-managed key because SES cannot publish to a topic encrypted with the AWS-managed
# SNS key: its key policy does not let ses.amazonaws.com use it.
# https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
data "aws_iam_policy_document" "key" {
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
    sid = "SESPublishesMail"
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

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.name} SNS topic of received mail"
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

# SES publishes for this deployment's receipt rules only.
# https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "SESPublishesMail"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

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
      values   = var.receipt_rule_arns
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

# The function reads the queue with its role; the one sender is the topic.
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "MailTopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.this.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue.json
}

# Raw delivery: the queue message is SES's notification itself, not SNS's envelope around it.
resource "aws_sns_topic_subscription" "this" {
  topic_arn            = aws_sns_topic.this.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this.arn
  raw_message_delivery = true

  # SNS drops what it cannot deliver to SQS: the queue must admit the topic first.
  depends_on = [aws_sqs_queue_policy.this]
}
