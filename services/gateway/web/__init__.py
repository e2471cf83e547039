"""The web page served by the gateway: server-rendered over the API's own service layer."""
