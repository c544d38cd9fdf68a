"""Out the door: e-waybills (面单) from the platforms' waybill services, labels, the outbound scan
(出库扫描) that ships a package, the ship confirmation to the platform, tracking and customer notices."""
