"""Widgets of the counter app, grouped by the screen area they belong to."""
