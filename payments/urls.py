urlpatterns: list = []  # filled by the payments issue
