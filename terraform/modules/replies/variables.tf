variable "name" {
  description = "Name of the deployment; prefixes the functions (<name>-webhook, <name>-outbox), their roles and log groups, the queues and the feedback topic."
  type        = string
}

variable "package_file" {
  description = "Path of the deployment zip built by `make package` (the mail function's zip)."
  type        = string
}

variable "webhook_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the webhooks' master secret (WEBHOOK_SECRET_ARN), from which each owner's webhook secret and the unsubscribe key derive; both functions may read it."
  type        = string
}

variable "idempotency_table_name" {
  description = "DynamoDB table of claims, participants and suppressions (IDEMPOTENCY_TABLE)."
  type        = string
}

variable "idempotency_table_arn" {
  description = "ARN of the claims table, for the functions' item permissions on it."
  type        = string
}

variable "idempotency_ttl_seconds" {
  description = "Seconds a claim or a participant is kept (the outbox's IDEMPOTENCY_TTL_SECONDS)."
  type        = number

  validation {
    condition     = var.idempotency_ttl_seconds >= 21600 && floor(var.idempotency_ttl_seconds) == var.idempotency_ttl_seconds
    error_message = "idempotency_ttl_seconds must be whole seconds, at least 21600."
  }
}

variable "sending_identity_arns" {
  description = "SES identity ARN by domain, for the domains of the routes that notify participants: the outbox may send from addresses of these domains only, through these identities."
  type        = map(string)

  validation {
    condition     = length(var.sending_identity_arns) >= 1
    error_message = "sending_identity_arns must name at least one identity: the module exists for routes that notify participants."
  }

  validation {
    condition     = alltrue([for domain, arn in var.sending_identity_arns : endswith(arn, ":identity/${domain}") && can(regex("^arn:aws(-[a-z]+)*:ses:[a-z0-9-]+:[0-9]{12}:identity/[a-z0-9.-]+$", arn))])
    error_message = "sending_identity_arns must map each lowercase ASCII domain to the ARN of its SES domain identity."
  }
}

variable "github_api_url" {
  description = "GitHub REST API base URL (GITHUB_API_URL): the outbox links to issues on its web host, and reacts on comments there with the deployment's token."
  type        = string
}

variable "token_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the deployment's GitHub token (GITHUB_TOKEN_SECRET_ARN): the outbox reacts on mailed comments with the credential of the route that mails them, as the mail function posts."
  type        = string
}

variable "route_secret_arns" {
  description = "ARNs of the Secrets Manager secrets routes.yaml names (token_secret, github_app.private_key_secret), the mail function's: the outbox may read these besides token_secret_arn. A name's ARN ends in -?????? (the random suffix). Empty: the default token only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.route_secret_arns : can(regex("^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(-[?]{6})?$", arn))])
    error_message = "route_secret_arns must be Secrets Manager secret ARNs, wildcards only as the trailing -?????? of the random suffix."
  }
}

variable "github_posts_per_minute" {
  description = "Content-creating GitHub requests per minute all containers share per credential (GITHUB_POSTS_PER_MINUTE), the mail function's: each reaction takes a turn; 0 turns this limit off."
  type        = number

  validation {
    condition     = var.github_posts_per_minute >= 0 && floor(var.github_posts_per_minute) == var.github_posts_per_minute
    error_message = "github_posts_per_minute must be a whole number, 0 or more."
  }
}

variable "github_posts_per_hour" {
  description = "Content-creating GitHub requests per hour all containers share per credential (GITHUB_POSTS_PER_HOUR), the mail function's; 0 turns this limit off."
  type        = number

  validation {
    condition     = var.github_posts_per_hour >= 0 && floor(var.github_posts_per_hour) == var.github_posts_per_hour
    error_message = "github_posts_per_hour must be a whole number, 0 or more."
  }
}

variable "log_level" {
  description = "Log level of both functions (LOG_LEVEL)."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs."
  type        = number
}

variable "webhook_reserved_concurrency" {
  description = "Concurrent executions reserved for and capping the webhook function, which anyone can call; -1 for neither (accounts whose concurrency quota is still 10 refuse any reservation)."
  type        = number
  default     = 5

  validation {
    condition     = var.webhook_reserved_concurrency == -1 || (var.webhook_reserved_concurrency >= 1 && var.webhook_reserved_concurrency <= 100)
    error_message = "webhook_reserved_concurrency must be between 1 and 100, or -1 for no reservation."
  }
}

variable "outbox_timeout" {
  description = "Outbox function timeout in seconds; the work queue's visibility timeout is six times this."
  type        = number
  default     = 60

  validation {
    condition     = var.outbox_timeout >= 10 && var.outbox_timeout <= 900
    error_message = "outbox_timeout must be between 10 and 900 seconds."
  }
}

variable "max_receive_count" {
  description = "Receipts of a work item (first try and retries) before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000 (SQS's range)."
  }
}
