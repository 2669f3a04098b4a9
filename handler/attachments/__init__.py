"""A posted mail's files: which of them are stored where the issue's readers can open them, under
which name and link, and why the others are only listed. Pure: the stores are adapters
(handler.github.contents, handler.aws.attachment_store) behind the protocols of
handler.attachments.stores."""
