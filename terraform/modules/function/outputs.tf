output "function_arn" {
  description = "ARN of the function, available once SES may invoke it (SES checks when the receipt rule is created)."
  value       = aws_lambda_function.this.arn

  depends_on = [aws_lambda_permission.ses]
}

output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "log_group_name" {
  description = "CloudWatch log group with one JSON line per decision."
  value       = aws_cloudwatch_log_group.this.name
}

output "failure_queue_name" {
  description = "SQS queue receiving invocations that failed after all retries."
  value       = aws_sqs_queue.failed.name
}

output "failure_queue_arn" {
  description = "ARN of the failure queue."
  value       = aws_sqs_queue.failed.arn
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}
