variable "domains" {
  description = "Recipient domains to receive mail for (the domains of routes.yaml)."
  type        = list(string)

  validation {
    condition     = length(var.domains) >= 1 && length(var.domains) <= 100
    error_message = "An SES receipt rule takes between 1 and 100 recipients."
  }

  # The handler turns internationalised names into their xn-- form; Terraform has no function
  # for that, and SES takes ASCII names only.
  validation {
    condition     = alltrue([for domain in var.domains : can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9-]{2,63}$", domain))])
    error_message = "Every domain must be a lowercase ASCII host name; write internationalised domains in routes.yaml in their xn-- form."
  }
}

variable "region" {
  description = "AWS region receiving the mail (names the MX target inbound-smtp.<region>.amazonaws.com)."
  type        = string
}

variable "route53_zone_ids" {
  description = "Route 53 hosted zone id per domain; the MX, verification and DKIM records of these domains are created."
  type        = map(string)
  default     = {}
}

variable "rule_set_name" {
  description = "Name of the SES receipt rule set."
  type        = string
}

variable "rule_name" {
  description = "Name of the SES receipt rule."
  type        = string
}

variable "activate_rule_set" {
  description = "Make the rule set the account's active one (an account has only one)."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Bucket of the S3 action; its policy must already let SES write."
  type        = string
}

variable "key_prefix" {
  description = "Object key prefix of the S3 action."
  type        = string
}

variable "topic_arn" {
  description = "SNS topic the S3 action notifies of each stored mail; SES must already be allowed to publish to it, and its queue subscribed."
  type        = string
}
