{
	"data": "ENC[AES256_GCM,data:MjI=,iv:YWJjZGVmZ2hpamtsbW5vcA==,tag:cXJzdHV2d3h5ejAxMjM0NQ==,type:str]",
	"sops": {
		"age": [
			{
				"recipient": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
				"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
			}
		],
		"lastmodified": "2026-01-01T00:00:00Z",
		"mac": "ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]",
		"version": "3.11.0"
	}
}
