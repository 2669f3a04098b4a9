provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = "ticket-router" }, var.tags)
  }
}
