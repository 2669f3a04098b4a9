output "arn" {
  description = "ARN of the secret (GITHUB_TOKEN_SECRET_ARN or WEBHOOK_SECRET_ARN of the functions)."
  value       = aws_secretsmanager_secret.this.arn
}

output "name" {
  description = "Name of the secret, for `aws secretsmanager put-secret-value --secret-id`."
  value       = aws_secretsmanager_secret.this.name
}
