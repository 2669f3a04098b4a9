output "bucket_name" {
  description = "Name of the mail bucket, available once its policy lets SES write (SES test-writes when the receipt rule is created)."
  value       = aws_s3_bucket.this.id

  depends_on = [aws_s3_bucket_policy.this]
}

output "bucket_arn" {
  description = "ARN of the mail bucket."
  value       = aws_s3_bucket.this.arn
}
