output "table_name" {
  description = "Name of the table (the function's IDEMPOTENCY_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the table, for the function's permission to claim mail in it."
  value       = aws_dynamodb_table.this.arn
}
