output "bucket_name" {
  description = "Name of the attachments bucket (ATTACHMENTS_BUCKET)."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the attachments bucket: the function may write and read its objects."
  value       = aws_s3_bucket.this.arn
}

output "url" {
  description = "Base URL the files are served at, https://<distribution domain> (ATTACHMENTS_URL); a file is at <url>/<key>. Available once the bucket admits the distribution."
  value       = "https://${aws_cloudfront_distribution.this.domain_name}"

  depends_on = [aws_s3_bucket_policy.this]
}

output "distribution_id" {
  description = "ID of the CloudFront distribution, for an invalidation of removed files (aws cloudfront create-invalidation --distribution-id <this> --paths '/<mail>/*')."
  value       = aws_cloudfront_distribution.this.id
}
