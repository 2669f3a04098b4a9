variable "region" {
  description = "AWS region to deploy to: one where SES receives mail."
  type        = string
  default     = "eu-west-1"
}

variable "assume_role_arn" {
  description = "Role the provider assumes to deploy; null deploys with the caller's own credentials."
  type        = string
  default     = null
}
