"""Registry: one record per child (一人一档), the county's 信息库."""
