urlpatterns: list = []  # filled by the kitchen issue
