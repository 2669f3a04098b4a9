# The attachments module as the AWS provider renders it (tests/test_terraform.py runs this with
# `terraform test` in a copy of the module): the bucket admits this distribution's reads and TLS
# only, one lifecycle rule per retention, the distribution reads the bucket through its origin
# access control and tells browsers to run nothing. Every resource is overridden, so nothing
# reaches AWS; the policy document is the provider's own rendering. Values are compared as JSON:
# to Terraform a list and a tuple are never equal.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_resource {
  target = aws_s3_bucket.this
  values = {
    arn                         = "arn:aws:s3:::tr-files-123456789012"
    id                          = "tr-files-123456789012"
    bucket                      = "tr-files-123456789012"
    bucket_regional_domain_name = "tr-files-123456789012.s3.eu-west-1.amazonaws.com"
  }
}

override_resource {
  target = aws_cloudfront_distribution.this
  values = {
    arn         = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE"
    id          = "E2QWRUHEXAMPLE"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

override_resource {
  target = aws_cloudfront_origin_access_control.this
  values = { id = "E1OACEXAMPLE" }
}

override_resource {
  target = aws_cloudfront_response_headers_policy.this
  values = { id = "headers-policy-id" }
}

override_resource {
  target = aws_cloudfront_cache_policy.this
  values = { id = "cache-policy-id" }
}

override_resource {
  target = aws_s3_bucket_public_access_block.this
}

override_resource {
  target = aws_s3_bucket_ownership_controls.this
}

override_resource {
  target = aws_s3_bucket_server_side_encryption_configuration.this
}

override_resource {
  target = aws_s3_bucket_lifecycle_configuration.this
}

override_resource {
  target = aws_s3_bucket_policy.this
}

variables {
  name        = "tr"
  bucket_name = "tr-files-123456789012"
  # As routes give them: unordered, repeated.
  retention_days = [365, 30, 9, 30]
}

run "served_through_cloudfront_only" {
  command = apply

  assert {
    condition = jsonencode(jsondecode(data.aws_iam_policy_document.this.json).Statement) == jsonencode([
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Action    = "s3:*"
        Resource  = ["arn:aws:s3:::tr-files-123456789012/*", "arn:aws:s3:::tr-files-123456789012"]
        Principal = "*"
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "CloudFrontReadsFiles"
        Effect    = "Allow"
        Action    = "s3:GetObject"
        Resource  = "arn:aws:s3:::tr-files-123456789012/*"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Condition = { StringEquals = { "AWS:SourceArn" = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE" } }
      },
    ])
    error_message = "Only this distribution reads objects (no listing), and only over TLS: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition     = aws_s3_bucket_policy.this.policy == data.aws_iam_policy_document.this.json
    error_message = "The bucket carries that policy."
  }

  assert {
    condition = jsonencode({
      public  = [aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy, aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets]
      owner   = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership
      sse     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm
      destroy = aws_s3_bucket.this.force_destroy
      }) == jsonencode({
      public  = [true, true, true, true]
      owner   = "BucketOwnerEnforced"
      sse     = "AES256"
      destroy = false
    })
    error_message = "The bucket is private, without ACLs, encrypted, and kept by destroy unless asked."
  }

  assert {
    condition = jsonencode([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : {
      id   = rule.id
      tag  = [for filter in rule.filter : [for tag in filter.tag : "${tag.key}=${tag.value}"]]
      days = [for expiration in rule.expiration : expiration.days]
      }]) == jsonencode([
      { id = "expire-after-9-days", tag = [["retention-days=9"]], days = [9] },
      { id = "expire-after-30-days", tag = [["retention-days=30"]], days = [30] },
      { id = "expire-after-365-days", tag = [["retention-days=365"]], days = [365] },
      { id = "abort-incomplete-uploads", tag = [[]], days = [] },
    ])
    error_message = "One rule per distinct retention, in the order of the days, each expiring the files tagged with it: ${jsonencode(aws_s3_bucket_lifecycle_configuration.this.rule)}"
  }

  assert {
    condition = jsonencode({
      origin   = [for origin in aws_cloudfront_distribution.this.origin : [origin.domain_name, origin.origin_access_control_id, origin.origin_id]]
      behavior = [for b in aws_cloudfront_distribution.this.default_cache_behavior : [b.viewer_protocol_policy, sort(b.allowed_methods), b.cache_policy_id, b.response_headers_policy_id, b.target_origin_id]]
      }) == jsonencode({
      origin   = [["tr-files-123456789012.s3.eu-west-1.amazonaws.com", "E1OACEXAMPLE", "attachments"]]
      behavior = [["https-only", ["GET", "HEAD"], "cache-policy-id", "headers-policy-id", "attachments"]]
    })
    error_message = "CloudFront reads the bucket through the origin access control, serves GET and HEAD over HTTPS only, with the cache and headers policies."
  }

  assert {
    condition     = jsonencode([aws_cloudfront_origin_access_control.this.origin_access_control_origin_type, aws_cloudfront_origin_access_control.this.signing_behavior, aws_cloudfront_origin_access_control.this.signing_protocol]) == jsonencode(["s3", "always", "sigv4"])
    error_message = "CloudFront signs every request to S3."
  }

  assert {
    condition = jsonencode([for config in aws_cloudfront_response_headers_policy.this.security_headers_config : {
      nosniff  = config.content_type_options[0].override
      csp      = config.content_security_policy[0].content_security_policy
      frame    = config.frame_options[0].frame_option
      referrer = config.referrer_policy[0].referrer_policy
      hsts     = [config.strict_transport_security[0].access_control_max_age_sec, config.strict_transport_security[0].include_subdomains]
      override = [config.content_security_policy[0].override, config.frame_options[0].override, config.referrer_policy[0].override, config.strict_transport_security[0].override]
      }]) == jsonencode([{
      nosniff  = true
      csp      = "default-src 'none'; img-src 'self'; sandbox"
      frame    = "DENY"
      referrer = "no-referrer"
      hsts     = [31536000, true]
      override = [true, true, true, true]
    }])
    error_message = "Every file is served with nosniff, a CSP that runs nothing, no framing, no referrer and HSTS."
  }

  assert {
    condition     = aws_cloudfront_cache_policy.this.max_ttl == 3600 && aws_cloudfront_cache_policy.this.default_ttl == 3600
    error_message = "A file is cached an hour at most: a removed one stops being served within the hour."
  }

  assert {
    condition     = output.url == "https://d111111abcdef8.cloudfront.net" && output.bucket_name == "tr-files-123456789012" && output.bucket_arn == "arn:aws:s3:::tr-files-123456789012" && output.distribution_id == "E2QWRUHEXAMPLE"
    error_message = "The outputs name the bucket, the distribution and the base URL files are served at (no trailing slash): ${output.url}"
  }
}

run "no_retention" {
  command = apply

  variables {
    retention_days = []
  }

  assert {
    condition     = jsonencode([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.id]) == jsonencode(["abort-incomplete-uploads"])
    error_message = "Without a retention no file expires."
  }
}

run "retention_of_part_of_a_day" {
  command = plan

  variables {
    retention_days = [0.5]
  }

  expect_failures = [var.retention_days]
}

run "a_bucket_name_s3_refuses" {
  command = plan

  variables {
    bucket_name = "Tr_Files"
  }

  expect_failures = [var.bucket_name]
}
