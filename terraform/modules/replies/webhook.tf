# The webhook function: GitHub's deliveries and the unsubscribe links, behind a public Function
# URL. It verifies, deduplicates and queues; the outbox does the slow work.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# Created before the function so that Lambda does not create it without a retention.
resource "aws_cloudwatch_log_group" "webhook" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; the decision lines hold no comment bodies, addresses or secrets, so a customer-managed key adds only a key policy to maintain.
  name              = "/aws/lambda/${var.name}-webhook"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "webhook" {
  name               = "${var.name}-webhook"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Exactly what handler/webhook_function.py calls and Lambda does on its behalf (logs);
# tests/test_terraform.py keeps this in step with the code.
data "aws_iam_policy_document" "webhook" {
  statement {
    sid       = "ReadWebhookSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.webhook_secret_arn]
  }

  statement {
    sid       = "QueueWork"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.work.arn]
  }

  # Delivery ids claimed once (Powertools, handler/aws/deliveries.py: "delivery#<hash>"):
  # PutItem, released with DeleteItem when queueing fails, confirmed with UpdateItem once
  # queued. On that key prefix only (dynamodb:LeadingKeys is the partition key, "id"; the Null
  # test keeps a call that names no key from passing ForAllValues with nothing to compare).
  statement {
    sid = "ClaimDeliveries"
    actions = [
      "dynamodb:DeleteItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["delivery#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # A participant removed from an issue by the unsubscribe link (handler/aws/participants.py).
  statement {
    sid       = "RemoveParticipants"
    actions   = ["dynamodb:UpdateItem"]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["participants#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  statement {
    sid = "WriteLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.webhook.arn}:*"]
  }
}

resource "aws_iam_role_policy" "webhook" {
  name   = "${var.name}-webhook"
  role   = aws_iam_role.webhook.id
  policy = data.aws_iam_policy_document.webhook.json
}

resource "aws_lambda_function" "webhook" {
  #checkov:skip=CKV_AWS_117:The function reaches only public AWS endpoints (SQS, DynamoDB, Secrets Manager); inside a VPC it would need endpoints or a NAT gateway for them, and it reaches no private resource.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the Function URL, where a dead-letter queue never receives anything; GitHub shows and redelivers a failed delivery.
  #checkov:skip=CKV_AWS_173:The environment holds names, ARNs and URLs only; the webhook secret is read from Secrets Manager at run time.
  #checkov:skip=CKV_AWS_272:The zip is built by `make package` from this repository; there is no signing profile to verify against.
  #checkov:skip=CKV_AWS_50:Each decision is logged as a JSON line; X-Ray would add permissions and cost without a question it answers.
  function_name = "${var.name}-webhook"
  description   = "ticket-router: GitHub webhook deliveries and unsubscribe links, queued for the outbox"
  role          = aws_iam_role.webhook.arn
  runtime       = "python3.12"
  architectures = ["arm64"]
  handler       = "handler.webhook_function.lambda_handler"
  filename      = var.package_file
  # The same zip as the mail function, whose precondition checks that it was built from the
  # routes file Terraform reads.
  source_code_hash = filebase64sha256(var.package_file)
  # GitHub gives up on a delivery after 10 seconds; verifying and queueing takes well under one.
  # https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds
  timeout     = 5
  memory_size = 256
  # Anyone can call a public URL: the cap bounds what a flood of (unsigned, rejected) requests
  # can cost and keeps it from starving the account's other functions.
  reserved_concurrent_executions = var.webhook_reserved_concurrency

  environment {
    variables = {
      ROUTES_FILE        = "/var/task/routes.json"
      WEBHOOK_SECRET_ARN = var.webhook_secret_arn
      WORK_QUEUE_URL     = aws_sqs_queue.work.url
      IDEMPOTENCY_TABLE  = var.idempotency_table_name
      LOG_LEVEL          = var.log_level
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.webhook,
    aws_iam_role_policy.webhook,
  ]
}

# Public because GitHub cannot sign its requests with SigV4; each request is authenticated in
# code instead (X-Hub-Signature-256, an HMAC with the webhook secret; unsubscribe links carry
# their own HMAC), and anything unsigned or forged is refused with 401.
resource "aws_lambda_function_url" "webhook" {
  #checkov:skip=CKV_AWS_258:GitHub cannot SigV4-sign its deliveries; every request is HMAC-verified in code (X-Hub-Signature-256 with the webhook secret, a keyed MAC in each unsubscribe link).
  function_name      = aws_lambda_function.webhook.function_name
  authorization_type = "NONE"

  # The provider adds this very statement when it creates a URL without authorization (and
  # accepts it when it exists); declaring it first makes it Terraform's, removed on destroy.
  depends_on = [aws_lambda_permission.url]
}

# Since October 2025 a new Function URL needs two statements: lambda:InvokeFunctionUrl (for
# authorization type NONE) and lambda:InvokeFunction for invocations through the URL.
# https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
resource "aws_lambda_permission" "url" {
  #checkov:skip=CKV_AWS_301:The Function URL is public by design (GitHub cannot sign); the statement admits calls through a URL without authorization only, each HMAC-verified in code.
  statement_id           = "FunctionURLAllowPublicAccess"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.webhook.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# The second statement must hold the condition lambda:InvokedViaFunctionUrl = true, or anyone
# with AWS credentials could invoke the function directly. aws_lambda_permission has no argument
# for it in the 5.x providers this module supports (invoked_via_function_url came with 6.x), so
# CloudFormation's AWS::Lambda::Permission, which has InvokedViaFunctionUrl, adds the statement,
# and deleting the stack removes it. Once 6.x is the minimum, an aws_lambda_permission does.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html
resource "aws_cloudformation_stack" "invoke_via_url" {
  #checkov:skip=CKV_AWS_124:The stack holds one Lambda permission that Terraform creates, updates and deletes; its events are Terraform's apply output.
  name = "${var.name}-webhook-invoke"

  template_body = jsonencode({
    Description = "ticket-router: the webhook function may be invoked through its Function URL only"
    Resources = {
      InvokeViaFunctionUrl = {
        Type = "AWS::Lambda::Permission"
        Properties = {
          Action                = "lambda:InvokeFunction"
          FunctionName          = aws_lambda_function.webhook.arn
          Principal             = "*"
          InvokedViaFunctionUrl = true
        }
      }
    }
  })
}
