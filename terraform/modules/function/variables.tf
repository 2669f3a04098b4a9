variable "name" {
  description = "Name of the function; also names its role, log group and failure queue."
  type        = string
}

variable "package_file" {
  description = "Path of the deployment zip built by `make package`."
  type        = string
}

variable "routes_sha256" {
  description = "SHA-256 (hex) of the routes file Terraform reads; the package must have been built from the same file."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.routes_sha256))
    error_message = "routes_sha256 must be a hex SHA-256 digest, as filesha256() returns."
  }
}

variable "mail_bucket_name" {
  description = "Bucket SES stores mail in (MAIL_BUCKET)."
  type        = string
}

variable "mail_bucket_arn" {
  description = "ARN of the mail bucket, for the read permission."
  type        = string
}

variable "mail_key_prefix" {
  description = "Key prefix of stored mail (MAIL_PREFIX); the function may read only below it."
  type        = string
}

variable "token_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the GitHub token."
  type        = string
}

variable "route_secret_arns" {
  description = "ARNs of the Secrets Manager secrets routes.yaml names (token_secret, github_app.private_key_secret): the function may read these besides token_secret_arn. A name's ARN ends in -?????? (the random suffix). Empty: the default token only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.route_secret_arns : can(regex("^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(-[?]{6})?$", arn))])
    error_message = "route_secret_arns must be Secrets Manager secret ARNs, wildcards only as the trailing -?????? of the random suffix."
  }
}

variable "github_api_url" {
  description = "GitHub REST API base URL (GITHUB_API_URL)."
  type        = string
}

variable "log_level" {
  description = "Log level of the function (LOG_LEVEL)."
  type        = string
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function; -1 for neither."
  type        = number
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
}

variable "max_retry_attempts" {
  description = "Times Lambda retries a failed asynchronous invocation (0-2)."
  type        = number
}

variable "max_event_age_seconds" {
  description = "Age after which an unprocessed event goes to the failure queue (60-21600)."
  type        = number
}

variable "account_id" {
  description = "AWS account id of the SES receipt rule allowed to invoke the function."
  type        = string
}

variable "receipt_rule_arn" {
  description = "ARN of the SES receipt rule allowed to invoke the function."
  type        = string
}

variable "idempotency_table_name" {
  description = "DynamoDB table in which the function claims each (mail, issue) before posting (IDEMPOTENCY_TABLE)."
  type        = string
}

variable "idempotency_table_arn" {
  description = "ARN of the idempotency table, for the permission to claim mail in it."
  type        = string
}

variable "idempotency_ttl_seconds" {
  description = "Seconds a claim is kept (IDEMPOTENCY_TTL_SECONDS): a mail redelivered or replayed within them is not posted again."
  type        = number

  validation {
    condition     = var.idempotency_ttl_seconds >= 21600 && floor(var.idempotency_ttl_seconds) == var.idempotency_ttl_seconds
    error_message = "idempotency_ttl_seconds must be whole seconds, at least 21600: Lambda retries an event for up to 6 hours, and a retry must still find its claim."
  }
}

variable "notice_identity_arns" {
  description = "SES identity ARN by domain, for the route domains whose routes send notices to senders (notify or confirm in routes.yaml): the function may send from addresses of these domains only, through these identities. Empty: no permission to send at all."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for domain, arn in var.notice_identity_arns : endswith(arn, ":identity/${domain}") && can(regex("^arn:aws(-[a-z]+)*:ses:[a-z0-9-]+:[0-9]{12}:identity/[a-z0-9.-]+$", arn))])
    error_message = "notice_identity_arns must map each lowercase ASCII domain to the ARN of its SES domain identity."
  }
}
