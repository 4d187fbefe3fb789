from benchlab.regress._changepoints import changepoints

__all__ = ["changepoints"]
