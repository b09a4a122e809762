app_name = "campaigns_ui"
urlpatterns: list = []
