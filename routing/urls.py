from django.urls import path

from routing import api, views
from routing.orders import api as order_api
from routing.orders import views as order_views

app_name = "routing"
urlpatterns = [
    # pages
    path("policy/", views.overview, name="overview"),
    path("policy/brokers/<uuid:pk>/", views.broker_panel, name="broker"),
    path("policy/brokers/<uuid:pk>/<str:tab>/", views.broker_panel, name="broker_tab"),
    path("policy/global/", views.global_policy, name="global"),
    path("policy/validate/", views.validate_field, name="validate"),
    path("policy/templates/", views.templates_page, name="templates"),
    path("policy/templates/<str:template_id>/", views.template_preview, name="template"),
    path("policy/transfer/", views.transfer_page, name="transfer"),
    path("policy/export/", views.export_file, name="export"),
    path("policy/history/", views.history, name="history"),
    path("policy/history/<int:number>/revert/", views.revert, name="revert"),
    path("policy/emergency/", views.emergency, name="emergency"),
    path("policy/emergency/release/", views.release, name="release"),
    path("policy/trading-state/", views.trading_state, name="trading_state"),
    path("policy/emergency/primary/<uuid:pk>/", views.primary, name="primary"),
    path("policy/emergency/pause/<uuid:pk>/", views.pause, name="pause"),
    path("policy/emergency/resume/<uuid:pk>/", views.resume, name="resume"),
    path("orders/", order_views.book, name="orders"),
    path("orders/new/", order_views.ticket, name="order_ticket"),
    path("orders/new/instruments/", order_views.search_instruments, name="order_search"),
    path("orders/new/preview/", order_views.preview, name="order_preview"),
    path("orders/new/place/", order_views.place, name="order_place"),
    path("orders/<uuid:pk>/", order_views.detail, name="order"),
    path("orders/<uuid:pk>/cancel/", order_views.cancel, name="order_cancel"),
    path("orders/<uuid:pk>/modify/", order_views.modify, name="order_modify"),
    path("orders/<uuid:pk>/queue/send/", order_views.queue_send, name="queue_send"),
    path("orders/<uuid:pk>/queue/cancel/", order_views.queue_cancel, name="queue_cancel"),
    # API
    path("api/v1/policy", api.PolicyApi.as_view(), name="api_policy"),
    path("api/v1/policy/global", api.GlobalPolicyApi.as_view(), name="api_global"),
    path("api/v1/policy/brokers/<uuid:pk>", api.BrokerSettingsApi.as_view(), name="api_broker"),
    path("api/v1/policy/validate", api.ValidateApi.as_view(), name="api_validate"),
    path("api/v1/policy/export", api.ExportApi.as_view(), name="api_export"),
    path("api/v1/policy/import", api.ImportApi.as_view(), name="api_import"),
    path("api/v1/policy/templates", api.TemplatesApi.as_view(), name="api_templates"),
    path(
        "api/v1/policy/templates/<str:template_id>",
        api.TemplateApi.as_view(),
        name="api_template",
    ),
    path(
        "api/v1/policy/templates/<str:template_id>/preview",
        api.TemplatePreviewApi.as_view(),
        name="api_template_preview",
    ),
    path(
        "api/v1/policy/templates/<str:template_id>/apply",
        api.TemplateApplyApi.as_view(),
        name="api_template_apply",
    ),
    path("api/v1/policy/history", api.HistoryApi.as_view(), name="api_history"),
    path("api/v1/policy/history/<int:number>/revert", api.RevertApi.as_view(), name="api_revert"),
    path("api/v1/policy/controls", api.ControlsApi.as_view(), name="api_controls"),
    path("api/v1/policy/brokers/<uuid:pk>/primary", api.PrimaryApi.as_view(), name="api_primary"),
    path("api/v1/policy/brokers/<uuid:pk>/pause", api.PauseApi.as_view(), name="api_pause"),
    path("api/v1/policy/kill-switch", api.KillSwitchApi.as_view(), name="api_kill_switch"),
    path("api/v1/policy/schema.json", api.SchemaApi.as_view(), name="api_schema"),
    path("api/v1/orders", order_api.OrdersApi.as_view(), name="api_orders"),
    path("api/v1/orders/preview", order_api.PreviewApi.as_view(), name="api_order_preview"),
    path("api/v1/orders/queue", order_api.QueueApi.as_view(), name="api_order_queue"),
    path(
        "api/v1/orders/queue/<uuid:pk>/send",
        order_api.QueueSendApi.as_view(),
        name="api_order_queue_send",
    ),
    path(
        "api/v1/orders/queue/<uuid:pk>/cancel",
        order_api.QueueCancelApi.as_view(),
        name="api_order_queue_cancel",
    ),
    path("api/v1/orders/<uuid:pk>", order_api.OrderApi.as_view(), name="api_order"),
    path("api/v1/orders/<uuid:pk>/modify", order_api.ModifyApi.as_view(), name="api_order_modify"),
    path("api/v1/orders/<uuid:pk>/cancel", order_api.CancelApi.as_view(), name="api_order_cancel"),
    path(
        "api/v1/orders/postbacks",
        order_api.PostbackAddressesApi.as_view(),
        name="api_order_postback_addresses",
    ),
    path(
        "api/v1/orders/postbacks/<str:broker>/<uuid:app_id>/<str:signature>",
        order_api.PostbackApi.as_view(),
        name="api_order_postback",
    ),
]
