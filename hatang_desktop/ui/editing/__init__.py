"""Editing records on the map and in generated forms (issue 4): see controller.EditController."""
