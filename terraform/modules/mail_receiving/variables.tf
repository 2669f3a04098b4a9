variable "domains" {
  description = "Recipient domains to receive mail for (the domains of routes.yaml)."
  type        = list(string)

  validation {
    condition     = length(var.domains) >= 1
    error_message = "domains must name at least one recipient domain."
  }

  # The handler turns internationalised names into their xn-- form; Terraform has no function
  # for that, and SES takes ASCII names only.
  validation {
    condition     = alltrue([for domain in var.domains : can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9-]{2,63}$", domain))])
    error_message = "Every domain must be a lowercase ASCII host name; write internationalised domains in routes.yaml in their xn-- form."
  }
}

variable "region" {
  description = "AWS region receiving the mail (names the MX target inbound-smtp.<region>.amazonaws.com); one where SES receives mail."
  type        = string

  validation {
    condition     = contains(local.receiving_regions, var.region)
    error_message = "SES does not receive mail in ${var.region}: the MX would point at inbound-smtp.${var.region}.amazonaws.com, which does not exist. Deploy to one of ${join(", ", local.receiving_regions)}."
  }
}

variable "route53_zone_ids" {
  description = "Route 53 hosted zone id per domain; the MX record of these domains is created, and the DKIM records of the identities created here."
  type        = map(string)
  default     = {}
}

variable "existing_identities" {
  description = "Domains whose SES identities exist already: adopted (read), never created, modified or deleted here; no DKIM record is written for them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for domain in var.existing_identities : contains(var.domains, domain)])
    error_message = "existing_identities must name recipient domains only; not routed: ${join(", ", [for domain in var.existing_identities : domain if !contains(var.domains, domain)])}."
  }
}

variable "rule_set_name" {
  description = "Name of the SES receipt rule set holding the rules: created here when create_rule_set, else an existing set."
  type        = string
}

variable "create_rule_set" {
  description = "Create the receipt rule set rule_set_name; false adds the rules to that existing set."
  type        = bool
  default     = true
}

variable "rules" {
  description = "Receipt rules to create, in order, each with its name and recipient domains (at most 100, SES's limit per rule); together they receive for exactly the domains."
  type = list(object({
    name       = string
    recipients = list(string)
  }))

  validation {
    condition     = length(var.rules) >= 1 && alltrue([for rule in var.rules : length(rule.recipients) >= 1 && length(rule.recipients) <= 100])
    error_message = "rules must hold at least one rule, and each rule between 1 and 100 recipients (SES's limit)."
  }

  validation {
    condition     = length(distinct(var.rules[*].name)) == length(var.rules)
    error_message = "Every rule needs its own name."
  }

  validation {
    condition     = jsonencode(sort(flatten(var.rules[*].recipients))) == jsonencode(sort(var.domains))
    error_message = "The rules' recipients must be the domains, each in one rule."
  }
}

variable "rule_after" {
  description = "Name of the rule in the set after which the rules go; null puts them first."
  type        = string
  default     = null
}

variable "activate_rule_set" {
  description = "Make the created rule set the region's active one, in place of whatever set is active (a region has one)."
  type        = bool
  default     = false

  validation {
    condition     = !var.activate_rule_set || var.create_rule_set
    error_message = "activate_rule_set activates a rule set created here; an existing set (create_rule_set = false) is left as it is."
  }
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
