# Files of mails posted to public repositories (routes with attachments storage s3), served by
# CloudFront: the bucket is private and only this distribution reads it (origin access control),
# so a file is reached through its unguessable key and nothing lists the bucket. No versioning:
# removing a mail's files (`ticket-router attachments remove`) must leave nothing behind.

locals {
  # One lifecycle rule per retention, in the order of the days (a set of strings sorts as
  # text: zero-padded, 10 sorts after 9).
  retention_days = [for padded in sort(distinct([for days in var.retention_days : format("%05d", days)])) : tonumber(padded)]
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication of files that only public repositories link to, and that can be sent again, is not worth a second region.
  #checkov:skip=CKV2_AWS_62:Nothing acts on a new file: the function links it in the comment it posts next.
  #checkov:skip=CKV_AWS_21:No versioning: removing a mail's files must delete them, and S3 keeps no old version to be read again.
  #checkov:skip=CKV_AWS_145:The files are served to anyone who has a link (public repositories only): a customer-managed key would guard nothing that CloudFront does not hand out, and would have to admit CloudFront and the function. SSE-S3 encrypts them at rest.
  #checkov:skip=CKV_AWS_18:Every read comes through CloudFront, whose requests are the ones to log; the function's writes are in CloudTrail.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# The function tags a file with its route's retention_days; each distinct number of days has its
# rule. S3 expires an object at the first midnight UTC after that many days.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  dynamic "rule" {
    for_each = local.retention_days

    content {
      id     = "expire-after-${rule.value}-days"
      status = "Enabled"

      filter {
        tag {
          key   = "retention-days"
          value = tostring(rule.value)
        }
      }

      expiration {
        days = rule.value
      }
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # This distribution reads objects, and nothing else: no listing, no other distribution.
  # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
  statement {
    sid       = "CloudFrontReadsFiles"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name}-attachments"
  description                       = "ticket-router: CloudFront reads the attachments bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# What the browser is told for every file: never guess a type (a text file is not run as a
# page), run nothing and load nothing but the file itself (an image opened on its own shows),
# never be framed, send no referrer, HTTPS only.
resource "aws_cloudfront_response_headers_policy" "this" {
  #checkov:skip=CKV_AWS_259:HSTS is sent for a year with subdomains, overriding the origin; not preload, which asks browsers to hard-code the registrable domain, cloudfront.net: AWS's to ask for, not a deployment's.
  name    = "${var.name}-attachments"
  comment = "ticket-router: files are shown or downloaded, never run"

  security_headers_config {
    content_type_options {
      override = true
    }

    content_security_policy {
      content_security_policy = "default-src 'none'; img-src 'self'; sandbox"
      override                = true
    }

    frame_options {
      frame_option = "DENY"
      override     = true
    }

    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }

    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      override                   = true
    }
  }
}

# Cached for an hour at most: a removed file stops being served within that hour (or at once,
# after an invalidation of its path).
resource "aws_cloudfront_cache_policy" "this" {
  name        = "${var.name}-attachments"
  comment     = "ticket-router: files cached an hour, keyed by path only"
  min_ttl     = 0
  default_ttl = 3600
  max_ttl     = 3600

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }

    headers_config {
      header_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_86:The files are public by design (public repositories only); CloudFront's access logs would need a bucket with ACLs enabled and tell nothing the repository's own traffic does not.
  #checkov:skip=CKV_AWS_68:GET and HEAD of static files behind unguessable keys: a web ACL costs more than the distribution and has nothing to filter.
  #checkov:skip=CKV2_AWS_47:No web ACL (CKV_AWS_68); the origin is S3, which runs no Log4j.
  #checkov:skip=CKV_AWS_310:One origin, S3: a second region's bucket would need replication (CKV_AWS_144) for files that are links in comments.
  #checkov:skip=CKV_AWS_174:The distribution's own cloudfront.net name and certificate: CloudFront sets their TLS policy; a minimum version needs a custom domain and certificate.
  #checkov:skip=CKV2_AWS_42:Served under the distribution's cloudfront.net name, with CloudFront's certificate: no domain to certify.
  #checkov:skip=CKV_AWS_374:The readers of a public repository are anywhere: a country list would hide screenshots from some of them and keep nobody out.
  #checkov:skip=CKV_AWS_305:There is no root object: the distribution serves files by their keys only, and / is refused.
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "ticket-router: attachments of mails posted to public repositories"
  # North America and Europe's edges: the cheapest class; elsewhere is served from them.
  price_class = "PriceClass_100"

  origin {
    origin_id                = "attachments"
    domain_name              = aws_s3_bucket.this.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  default_cache_behavior {
    target_origin_id           = "attachments"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    viewer_protocol_policy     = "https-only"
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.this.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
