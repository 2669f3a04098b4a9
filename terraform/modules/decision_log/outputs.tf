output "table_name" {
  description = "Name of the table (the function's DECISION_TABLE; `ticket-router why --decision-table`)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the table, for the function's permission to write decisions to it."
  value       = aws_dynamodb_table.this.arn
}
